/** Operator-page request schemas: confirmations, selections, caps, defaults. */
import { describe, expect, it } from 'vitest';
import { schemas } from '../../../../src-main/console/contract/contract.js';

const ok = (c: keyof typeof schemas, r: unknown): boolean => schemas[c].safeParse(r).success;
const ID = '7F000001000086FB00000000000001BA';

describe('operator schemas', () => {
  it('write actions need confirm: true (a page dialog), not just any truthy value', () => {
    expect(ok('tx:resolve', { brokerName: 'broker-a', msgId: ID, action: 'commit', confirm: true })).toBe(true);
    expect(ok('tx:resolve', { brokerName: 'broker-a', msgId: ID, action: 'commit', confirm: 'yes' })).toBe(false);
    expect(ok('tx:resolve', { brokerName: 'broker-a', msgId: ID, action: 'commit' })).toBe(false);
    expect(ok('tx:resolve', { brokerName: 'broker-a', msgId: ID, action: 'drop', confirm: true })).toBe(false);
    expect(ok('group:skip-message', { group: 'G', topic: 'T', brokerName: 'b', queueId: 0, expectedOffset: 1, confirm: false })).toBe(false);
    expect(ok('group:offset-restore', { snapshotId: 's1' })).toBe(false);
  });

  it('tx and dlq message ids are offset ids (32 or 56 hex digits)', () => {
    expect(ok('dlq:view', { group: 'G', msgId: ID })).toBe(true);
    expect(ok('dlq:view', { group: 'G', msgId: 'not-hex' })).toBe(false);
    expect(ok('dlq:view', { group: 'G', msgId: 'A'.repeat(56) })).toBe(true);
    expect(ok('dlq:view', { group: 'G', msgId: 'A'.repeat(33) })).toBe(false);
  });

  it('selections: ids (1..10000), a strict filter, or a job\'s failures', () => {
    const base = { group: 'G', target: 'origin' };
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'ids', msgIds: [ID] } })).toBe(true);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'ids', msgIds: [] } })).toBe(false);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'ids', msgIds: Array(10_001).fill(ID) } })).toBe(false);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'filter', filter: { key: 'k', tags: 'a || b', originTopic: 'T' } } })).toBe(true);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'filter', filter: { sql: 'x' } } })).toBe(false);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'filter', filter: { beginTime: 10, endTime: 5 } } })).toBe(false);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'failed-of', jobId: 'j1' } })).toBe(true);
    expect(ok('dlq:resend-preview', { ...base, selection: { kind: 'everything' } })).toBe(false);
  });

  it('resend needs a preview token and a request id; the rate is capped', () => {
    const r = { group: 'G', selection: { kind: 'filter' }, requestId: 'req-1', previewToken: 't' };
    expect(schemas['dlq:resend'].parse(r)).toMatchObject({ ratePerSecond: 200, target: 'origin', connectionId: 'embedded' });
    expect(ok('dlq:resend', { ...r, previewToken: undefined })).toBe(false);
    expect(ok('dlq:resend', { ...r, requestId: 'bad id' })).toBe(false);
    expect(ok('dlq:resend', { ...r, ratePerSecond: 0 })).toBe(false);
    expect(ok('dlq:resend', { ...r, ratePerSecond: 100_001 })).toBe(false);
  });

  it('export formats, body encodings; migration limits', () => {
    expect(ok('dlq:export', { group: 'G', selection: { kind: 'filter' }, format: 'xlsx', requestId: 'r' })).toBe(false);
    expect(schemas['dlq:export'].parse({ group: 'G', selection: { kind: 'filter' }, format: 'csv', requestId: 'r' }).bodyEncoding).toBe('text');
    expect(ok('migration:start', { group: 'G'.repeat(111), topic: 'T', requestId: 'r' })).toBe(false);
    expect(ok('migration:start', { group: 'G', topic: 'T', requestId: 'r', tempQueuesPerBroker: 257 })).toBe(false);
    expect(ok('migration:control', { jobId: 'm', action: 'explode' })).toBe(false);
    expect(ok('message:resend', { msgId: ID, target: 'retry', requestId: 'r' })).toBe(false);
    expect(ok('message:resend', { msgId: ID, target: 'retry', group: 'G', requestId: 'r' })).toBe(true);
  });
});
