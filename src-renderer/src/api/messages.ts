import type { RequestOf } from '../../../src-main/console/contract/contract';
import { call } from './index';

export const messagesApi = {
  browse: (req: RequestOf<'message:browse'>) => call('message:browse', req),
  byId: (req: RequestOf<'message:by-id'>) => call('message:by-id', req),
  byKey: (req: RequestOf<'message:by-key'>) => call('message:by-key', req),
  byTime: (req: RequestOf<'message:by-time'>) => call('message:by-time', req),
};
