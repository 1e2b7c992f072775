/** The console contract: one table, three views of it agreeing, and schemas that refuse bad input. */
import { describe, expect, it } from 'vitest';
import { CHANNELS, EVENT_TOPICS, isChannel, isEventTopic, WRITE_CHANNELS } from '../../../src-main/console/contract/channels.js';
import { CONTRACT, schemas } from '../../../src-main/console/contract/contract.js';
import { HANDLERS } from '../../../src-main/console/handlers/index.js';
import { ERROR_CODES, isErrorCode } from '../../../src-main/console/contract/errors.js';

const parse = (channel: keyof typeof schemas, req: unknown) => schemas[channel].safeParse(req);

describe('channel table', () => {
  it('lists every channel once, each with a schema and a handler, named domain:action', () => {
    expect(new Set(CHANNELS).size).toBe(CHANNELS.length);
    expect(Object.keys(CONTRACT).sort()).toEqual([...CHANNELS].sort());
    expect(Object.keys(HANDLERS).sort()).toEqual([...CHANNELS].sort());
    for (const c of CHANNELS) expect(c).toMatch(/^[a-z]+:[a-z-]+$/);
    expect(WRITE_CHANNELS.every((c) => isChannel(c))).toBe(true);
  });

  it('isChannel / isEventTopic accept only listed names', () => {
    expect(isChannel('topic:list')).toBe(true);
    expect(isChannel('topic:list ')).toBe(false);
    expect(isChannel('__proto__')).toBe(false);
    expect(isChannel(42)).toBe(false);
    expect(EVENT_TOPICS.every((t) => isEventTopic(t))).toBe(true);
    expect(isEventTopic('topic:list')).toBe(false);
  });

  it('has stable error codes', () => {
    expect(ERROR_CODES).toContain('BAD_REQUEST');
    expect(isErrorCode('NOT_FOUND')).toBe(true);
    expect(isErrorCode('nope')).toBe(false);
  });
});

describe('schemas', () => {
  it('every request object is strict: an unknown field is refused', () => {
    const minimal: Record<string, unknown> = {
      'topic:detail': { topic: 'T' }, 'topic:create': { topic: 'T' }, 'topic:delete': { topic: 'T', confirmName: 'T' },
      'group:detail': { group: 'G' }, 'group:reset-offset': { group: 'G', topic: 'T', target: 'latest' },
      'group:create': { group: 'G' }, 'group:delete': { group: 'G', confirmName: 'G' },
      'message:browse': { topic: 'T', brokerName: 'b', queueId: 0, fromOffset: 0 }, 'message:by-id': { msgId: 'AB' },
      'message:by-key': { topic: 'T', key: 'k' }, 'message:by-time': { topic: 'T', beginTime: 1, endTime: 2 },
      'playground:send': { topic: 'T', body: '' }, 'playground:tail': { topic: 'T' }, 'playground:tail-stop': { tailId: 't1' },
      'connection:save': { name: 'n', namesrvAddr: 'h:1' }, 'connection:remove': { id: 'c1' }, 'connection:test': { id: 'c1' },
      // operator pages
      'trace:by-id': { msgId: 'U1' }, 'trace:by-key': { topic: 'T', key: 'k' }, 'dlq:list': { group: 'G' },
      'dlq:view': { group: 'G', msgId: 'A'.repeat(32) }, 'dlq:resend-preview': { group: 'G', selection: { kind: 'filter' } },
      'dlq:resend': { group: 'G', selection: { kind: 'ids', msgIds: ['A'.repeat(32)] }, requestId: 'r1', previewToken: 'p' },
      'dlq:export': { group: 'G', selection: { kind: 'filter' }, format: 'csv', requestId: 'r1' },
      'job:get': { jobId: 'j1' }, 'job:cancel': { jobId: 'j1' }, 'job:receipts': { jobId: 'j1' },
      'job:receipts-export': { jobId: 'j1', format: 'jsonl', requestId: 'r1' },
      'message:resend': { msgId: 'A'.repeat(32), target: 'origin', requestId: 'r1' },
      'tx:resolve': { brokerName: 'b', msgId: 'A'.repeat(32), action: 'commit', confirm: true },
      'tx:recheck': { brokerName: 'b', msgId: 'A'.repeat(32), confirm: true },
      'group:lag-history': { group: 'G' }, 'group:stuck-inspect': { group: 'G', topic: 'T', brokerName: 'b', queueId: 0 },
      'group:skip-message': { group: 'G', topic: 'T', brokerName: 'b', queueId: 0, expectedOffset: 3, confirm: true },
      'group:offset-restore': { snapshotId: 's1', confirm: true },
      'migration:diagnose': { group: 'G', topic: 'T' }, 'migration:add-queues': { topic: 'T', queuesPerBroker: 8, confirmName: 'T' },
      'migration:start': { group: 'G', topic: 'T', requestId: 'r1' }, 'migration:get': { jobId: 'm1' },
      'migration:control': { jobId: 'm1', action: 'pause' },
      // console administration (issue 4 item 6) and embedded node controls (issue 3 item 8)
      'connection:options-save': { readOnly: true }, 'group:offset-snapshots': { group: 'G' }, 'op:cancel': { opId: 'o1' },
      'settings:embedded-save': { settings: {
        startOnLaunch: true, namesrvPort: 0, namesrvCount: 1, brokerBasePort: 10911, brokerGroups: ['broker-a'], slavesPerGroup: 1,
        flushMode: 'SYNC', replicationMode: 'ASYNC', dataDir: '',
      } },
      'node:stop': { node: 'broker-a-0', confirm: true }, 'node:kill': { node: 'broker-a-0', confirm: true },
      'node:restart': { node: 'broker-a-0', confirm: true }, 'node:promote': { brokerName: 'broker-a', confirm: true },
    };
    for (const channel of CHANNELS) {
      const base = minimal[channel] ?? {};
      expect(parse(channel, base).success, `${channel} minimal`).toBe(true);
      expect(parse(channel, { ...(base as object), extra: 1 }).success, `${channel} extra`).toBe(false);
    }
  });

  it('fills defaults: the embedded connection, system topics hidden, a scan budget', () => {
    expect(schemas['topic:list'].parse({})).toEqual({ connectionId: 'embedded', includeSystem: false, query: '' });
    expect(schemas['message:browse'].parse({ topic: 'T', brokerName: 'broker-a', queueId: 1, fromOffset: 5 })).toMatchObject({
      count: 100, budget: { maxRows: 1000, maxMs: 5000 },
    });
    expect(schemas['topic:create'].parse({ topic: 'T' })).toMatchObject({ readQueueNums: 4, writeQueueNums: 4, perm: 6, order: false });
  });

  it('refuses bad names, lengths, ranges and enums', () => {
    expect(parse('topic:create', { topic: 'has space' }).success).toBe(false);
    expect(parse('topic:create', { topic: 'x'.repeat(128) }).success).toBe(false);
    expect(parse('topic:create', { topic: 'T', readQueueNums: 1025 }).success).toBe(false);
    expect(parse('topic:create', { topic: 'T', perm: 7 }).success).toBe(false);
    expect(parse('topic:create', { topic: 'T', readQueueNums: 1.5 }).success).toBe(false);
    expect(parse('topic:list', { connectionId: '../etc' }).success).toBe(false);
    expect(parse('message:browse', { topic: 'T', brokerName: 'b', queueId: -1, fromOffset: 0 }).success).toBe(false);
    expect(parse('message:browse', { topic: 'T', brokerName: 'b', queueId: 0, fromOffset: 0, count: 2001 }).success).toBe(false);
    expect(parse('message:browse', { topic: 'T', brokerName: 'b', queueId: 0, fromOffset: 0, budget: { maxRows: 0 } }).success).toBe(false);
    expect(parse('message:by-key', { topic: 'T', key: 'a b' }).success).toBe(false);
    expect(parse('message:by-id', { msgId: 'x'.repeat(129) }).success).toBe(false);
    expect(parse('group:reset-offset', { group: 'G', topic: 'T', target: 'yesterday' }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: '', delayLevel: 19 }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: '', properties: { 'a b': 'x' } }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: '', properties: { a: 'x\u0001y' } }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: '', properties: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, 'v'])) }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: 'x'.repeat(4 * 1024 * 1024 + 1) }).success).toBe(false);
    expect(parse('playground:send', { topic: 'T', body: '', tags: 'a||b' }).success).toBe(false);
  });

  it('cross-field rules: a timestamp reset needs the time, a time range is ordered, test takes id xor address', () => {
    expect(parse('group:reset-offset', { group: 'G', topic: 'T', target: 'timestamp' }).success).toBe(false);
    expect(parse('group:reset-offset', { group: 'G', topic: 'T', target: 'timestamp', timestamp: 1 }).success).toBe(true);
    expect(parse('message:by-time', { topic: 'T', beginTime: 2, endTime: 1 }).success).toBe(false);
    expect(parse('connection:test', {}).success).toBe(false);
    expect(parse('connection:test', { id: 'c', namesrvAddr: 'h:1' }).success).toBe(false);
  });

  it('NameServer addresses are host:port lists', () => {
    const ok = (a: string) => parse('connection:save', { name: 'n', namesrvAddr: a }).success;
    expect(ok('127.0.0.1:9876')).toBe(true);
    expect(ok('ns1.example.com:9876;ns2.example.com:9876')).toBe(true);
    expect(ok('[::1]:9876')).toBe(true);
    expect(ok('127.0.0.1')).toBe(false);
    expect(ok('127.0.0.1:99999')).toBe(false);
    expect(ok('http://x:1')).toBe(false);
    expect(ok('a:1;b')).toBe(false);
  });
});
