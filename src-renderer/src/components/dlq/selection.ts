// What a resend or export works on: ids, everything matching a filter, or a job's failures.
import type { RequestOf } from '../../../../src-main/console/contract/contract';

export type Selection = RequestOf<'dlq:resend-preview'>['selection'];
