/**
 * Trace with client trace records, the delay monitor and the transaction monitor through the
 * console, against a real embedded cluster (loopback TCP only):
 * - trace: a message with Pub / SubBefore / SubAfter records in RMQ_SYS_TRACE_TOPIC (as a Java
 *   client writes them) is traced by id without its topic; a group that has not reached it is
 *   "not yet"; unknown is said where no records exist;
 * - delay: delayed messages per level (custom short levels), next due, the next hour's buckets,
 *   delivered per minute once the scheduler delivers, the waiting list with a search;
 * - transactions: pending half messages (immune ones stay pending), a discarded one after the
 *   maximum checks, commit and rollback by hand (END_TRANSACTION) with audit entries and totals, a
 *   discarded message put back under check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTraceRecord } from '../../../src-main/console/ops/trace-records.js';
import type { TraceRecord } from '../../../src-main/console/contract/ops-dto.js';
import { MessageSysFlag } from '../../../src-main/broker/store/message-codec.js';
import { waitFor } from '../../harness/temp-dir.js';
import { produce, startOpsEnv, uniqKey, waitRoute, type OpsEnv } from './ops-env.js';

/** Levels 1..18: 1 s, 2 s, 30 s, 2 min, 7 min, 90 min, then long ones. */
const LEVELS = [1000, 2000, 30_000, 120_000, 420_000, 5_400_000, ...Array.from({ length: 12 }, (_, i) => 7_200_000 + i * 60_000)];
let env: OpsEnv;

beforeAll(async () => {
  env = await startOpsEnv('ops-tdt', {
    brokerOverrides: { delayLevelsMs: LEVELS, transactionTimeoutMs: 500, transactionCheckIntervalMs: 500, transactionCheckMax: 1 },
  }, { sampleIntervalMs: 1000 });
  for (const topic of ['OpsTraceTopic', 'OpsDelayTopic', 'OpsTxTopic']) await env.ok('topic:create', { topic, readQueueNums: 2, writeQueueNums: 2 });
  for (const topic of ['OpsTraceTopic', 'OpsDelayTopic', 'OpsTxTopic']) await waitRoute(env.admin, topic);
}, 60_000);

afterAll(async () => {
  await env?.stop();
}, 60_000);

describe('trace with client trace records', () => {
  it('finds the topic from the Pub record, shows delivery attempts, and not-yet / unknown where due', async () => {
    const uniq = uniqKey();
    const [sent] = await produce(env.admin, [{ topic: 'OpsTraceTopic', body: 'traced', properties: { UNIQ_KEY: uniq, KEYS: 'trace-k1', TAGS: 'T1' } }]);
    const now = Date.now();
    const records: TraceRecord[] = [
      { type: 'Pub', timeStamp: now, regionId: 'DefaultRegion', groupName: 'PID_TRACED', topic: 'OpsTraceTopic', msgId: uniq, tags: 'T1', keys: 'trace-k1',
        storeHost: '127.0.0.1:10911', bodyLength: 6, costTime: 4, msgType: 0, offsetMsgId: sent!.msgId, success: true, clientHost: '127.0.0.1' },
      { type: 'SubBefore', timeStamp: now + 100, regionId: 'DefaultRegion', groupName: 'GID_TRACED', requestId: 'req-1', msgId: uniq, retryTimes: 0, keys: 'trace-k1' },
      { type: 'SubAfter', requestId: 'req-1', msgId: uniq, costTime: 12, success: false, keys: 'trace-k1', contextCode: 2, timeStamp: now + 112, groupName: 'GID_TRACED' },
      { type: 'SubBefore', timeStamp: now + 10_000, regionId: 'DefaultRegion', groupName: 'GID_TRACED', requestId: 'req-2', msgId: uniq, retryTimes: 1, keys: 'trace-k1' },
      { type: 'SubAfter', requestId: 'req-2', msgId: uniq, costTime: 7, success: true, keys: 'trace-k1', contextCode: 0, timeStamp: now + 10_007, groupName: 'GID_TRACED' },
    ];
    // One trace message carries several records; KEYS = the traced id and its keys (TraceDataEncoder / AsyncTraceDispatcher).
    await produce(env.admin, [{ topic: 'RMQ_SYS_TRACE_TOPIC', body: records.map(encodeTraceRecord).join(''), properties: { KEYS: `${uniq} trace-k1` } }]);
    // A second group with an offset before the message: not consumed yet.
    await env.ok('group:create', { group: 'GID_NOT_YET' });
    const route = await env.admin.routeInfo('OpsTraceTopic');
    for (const b of route.brokerDatas) {
      for (let q = 0; q < 2; q++) {
        await env.admin.call(b.brokerAddrs['0']!, 15, { consumerGroup: 'GID_NOT_YET', topic: 'OpsTraceTopic', queueId: q, commitOffset: 0 });
      }
    }

    const result = await env.ok('trace:by-id', { msgId: uniq });
    expect(result.via).toBe('uniqueKey');
    const trace = result.traces[0]!;
    expect(trace.traceTopic).toBe(true);
    expect(trace.producerGroup).toBe('PID_TRACED');
    expect(trace.records.map((r) => r.type)).toEqual(['Pub', 'SubBefore', 'SubAfter', 'SubBefore', 'SubAfter']);
    const traced = trace.groups.find((g) => g.group === 'GID_TRACED')!;
    expect(traced.clientRecords).toBe(2);
    expect(traced.consumption).toBe('unknown'); // the client said so, but the broker has no offset for it
    const notYet = trace.groups.find((g) => g.group === 'GID_NOT_YET')!;
    expect(notYet).toMatchObject({ consumption: 'not-yet', consumerOffset: 0, copiesSearch: 'no-topic' });
    const ev = trace.events.filter((e) => e.group === 'GID_TRACED');
    expect(ev.filter((e) => e.kind === 'delivered').map((e) => e.reconsumeTimes)).toEqual([0, 1]);
    expect(ev.find((e) => e.kind === 'consume-failed')).toMatchObject({ status: 'failed', costMs: 12, detail: 'EXCEPTION', source: 'client-trace' });
    expect(ev.find((e) => e.kind === 'consumed')).toMatchObject({ status: 'done', costMs: 7 });
    expect(trace.events.find((e) => e.kind === 'client-pub')).toMatchObject({ status: 'done', costMs: 4, group: 'PID_TRACED' });
    expect(trace.events.find((e) => e.kind === 'offset' && e.group === 'GID_NOT_YET')).toMatchObject({ status: 'pending' });
    expect(trace.events.find((e) => e.kind === 'dlq' && e.group === 'GID_NOT_YET')).toMatchObject({ status: 'absent', at: null });
    // Times in order, unknown times last.
    const times = trace.events.map((e) => e.at);
    const known = times.filter((t): t is number => t !== null);
    expect(known).toEqual([...known].sort((a, b) => a - b));
    expect(times.indexOf(null)).toBeGreaterThan(known.length - 1);

    // By offset id, no topic needed; a wrong topic is NOT_FOUND.
    expect((await env.ok('trace:by-id', { msgId: sent!.msgId })).via).toBe('offsetId');
    expect((await env.fails('trace:by-id', { msgId: uniqKey() })).code).toBe('NOT_FOUND');
  });
});

describe('delay monitor', () => {
  it('counts waiting messages per level, next due, the next hour, delivered per minute, and lists them', async () => {
    const before = await env.ok('delay:stats', {});
    expect(before.totalWaiting).toBe(0);
    expect(before.levels.map((l) => l.level)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(before.levels[2]!.delayMs).toBe(30_000);
    const send = (level: number, n: number) => Array.from({ length: n }, (_, i) => ({
      topic: 'OpsDelayTopic', body: `d${level}-${i}`, properties: { DELAY: String(level), KEYS: `delay-${level}-${i}`, UNIQ_KEY: uniqKey() },
    }));
    const sentAt = Date.now();
    await produce(env.admin, [...send(1, 5), ...send(3, 3), ...send(4, 2), ...send(5, 4), ...send(6, 1)]);
    const s = await env.ok('delay:stats', {});
    const level = (n: number) => s.levels.find((l) => l.level === n)!;
    expect(level(3).waiting).toBe(3);
    expect(level(4).waiting).toBe(2);
    expect(level(5).waiting).toBe(4);
    expect(level(6).waiting).toBe(1);
    expect(level(3).nextDue! - sentAt).toBeGreaterThanOrEqual(29_000);
    expect(level(3).nextDue! - sentAt).toBeLessThan(32_000);
    expect(level(3).oldestStored).toBeGreaterThanOrEqual(sentAt - 1000);
    expect(level(3).perBroker.reduce((a, b) => a + b.waiting, 0)).toBe(3);
    expect(s.dueNextHour).toHaveLength(12);
    expect(s.dueNextHour[0]!.count).toBeGreaterThanOrEqual(5); // level 3 (30 s), level 4 (2 min), and level 1 if not delivered yet
    expect(s.dueNextHour[1]!.count).toBe(4); // level 5: 7 min
    expect(s.dueLater).toBe(1); // level 6: 90 min
    expect(s.totalWaiting).toBe(s.overdue + s.dueNextHour.reduce((a, b) => a + b.count, 0) + s.dueLater);

    // Level 1 (1 s) is delivered, and the progress samples give a rate.
    await waitFor(async () => (await env.ok('delay:stats', {})).levels[0]!.waiting === 0, 15_000, 'level 1 delivered');
    await new Promise((r) => setTimeout(r, 5500));
    const after = await env.ok('delay:stats', {});
    expect(after.levels[0]!.deliveredPerMinute).toBeGreaterThan(0);
    expect(after.levels[2]!.deliveredPerMinute).toBe(0);
    const delivered = await env.ok('message:by-key', { topic: 'OpsDelayTopic', key: 'delay-1-0' });
    expect(delivered.messages).toHaveLength(1);

    const list = await env.ok('delay:list', { search: 'delay-5' });
    expect(list.rows).toHaveLength(4);
    expect(list.rows.every((r) => r.realTopic === 'OpsDelayTopic' && r.level === 5 && r.keys!.startsWith('delay-5-'))).toBe(true);
    expect(list.rows[0]!.dueAt - list.rows[0]!.storeTimestamp).toBe(420_000);
    const all = await env.ok('delay:list', {});
    expect(all.rows.map((r) => r.level)).toEqual([...all.rows.map((r) => r.level)].sort((a, b) => a - b));
    expect(all.rows).toHaveLength(10);
    expect((await env.ok('delay:list', { level: 6 })).rows).toHaveLength(1);
  }, 60_000);
});

describe('transaction monitor', () => {
  const ids: Record<string, string> = {};
  const half = (name: string, immune: boolean) => {
    ids[name] = uniqKey();
    return {
      topic: 'OpsTxTopic', body: `tx-${name}`, producerGroup: 'PID_OPS_TX', sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
      properties: { TRAN_MSG: 'true', PGROUP: 'PID_OPS_TX', KEYS: `tx-${name}`, UNIQ_KEY: ids[name]!, ...(immune ? { CHECK_IMMUNITY_TIME_IN_SECONDS: '3600' } : {}) },
    };
  };

  it('lists pending half messages with group, topic, keys, age and check count; one is discarded after the checks', async () => {
    await produce(env.admin, [half('commit', true), half('rollback', true), half('stuck', true), half('discard', false)]);
    // The producer's own answer, as its trace records say (UNKNOW keeps it waiting).
    await produce(env.admin, [{ topic: 'RMQ_SYS_TRACE_TOPIC', body: encodeTraceRecord({
      type: 'EndTransaction', timeStamp: Date.now(), regionId: 'DefaultRegion', groupName: 'PID_OPS_TX', topic: 'OpsTxTopic', msgId: ids['stuck']!,
      tags: '', keys: 'tx-stuck', storeHost: '', msgType: 1, transactionId: ids['stuck']!, transactionState: 'UNKNOW', fromTransactionCheck: true,
    }), properties: { KEYS: ids['stuck']! } }]);
    await waitFor(async () => (await env.ok('tx:stats', {})).discarded === 1, 20_000, 'one discarded half message');
    const stats = await env.ok('tx:stats', {});
    expect(stats.pending).toBe(3);
    expect(stats.ageHistogram.reduce((a, b) => a + b.count, 0)).toBe(3);
    expect(stats.oldestAgeMs).toBeGreaterThan(0);
    const list = await env.ok('tx:list', {});
    expect(list.pending.map((p) => p.keys).sort()).toEqual(['tx-commit', 'tx-rollback', 'tx-stuck']);
    for (const p of list.pending) expect(p).toMatchObject({ producerGroup: 'PID_OPS_TX', topic: 'OpsTxTopic' });
    expect(list.pending.find((p) => p.keys === 'tx-stuck')!.lastAnswer).toBe('UNKNOW');
    expect(list.discarded.map((d) => d.keys)).toEqual(['tx-discard']);
    expect(list.discarded[0]!.checkTimes).toBeGreaterThanOrEqual(1);
    expect((await env.ok('tx:list', { search: 'tx-roll' })).pending.map((p) => p.keys)).toEqual(['tx-rollback']);
  }, 40_000);

  it('commits and rolls back by hand with END_TRANSACTION, verified and audited; a second resolve is refused', async () => {
    const list = await env.ok('tx:list', {});
    const commit = list.pending.find((p) => p.keys === 'tx-commit')!;
    const rollback = list.pending.find((p) => p.keys === 'tx-rollback')!;
    const c = await env.ok('tx:resolve', { brokerName: commit.brokerName, msgId: commit.msgId, action: 'commit', confirm: true });
    expect(c).toMatchObject({ outcome: 'COMMIT', verified: true });
    const r = await env.ok('tx:resolve', { brokerName: rollback.brokerName, msgId: rollback.msgId, action: 'rollback', confirm: true });
    expect(r).toMatchObject({ outcome: 'ROLLBACK', verified: true });
    expect((await env.ok('message:by-key', { topic: 'OpsTxTopic', key: 'tx-commit' })).messages.map((m) => m.uniqKey)).toEqual([ids['commit']]);
    expect((await env.ok('message:by-key', { topic: 'OpsTxTopic', key: 'tx-rollback' })).messages).toEqual([]);
    const stats = await env.ok('tx:stats', {});
    expect(stats).toMatchObject({ pending: 1, committed: 1, rolledBack: 1 });
    const again = await env.fails('tx:resolve', { brokerName: commit.brokerName, msgId: commit.msgId, action: 'rollback', confirm: true });
    expect(again.code).toBe('CONFLICT');
    expect((await env.fails('tx:resolve', { brokerName: commit.brokerName, msgId: commit.msgId, action: 'commit' })).code).toBe('BAD_REQUEST');
    // Refused attempts are audited too (as failed); the two that went through are ok.
    const audit = (await env.ok('audit:list', {})).filter((a) => a.result === 'ok');
    expect(audit.slice(0, 2).map((a) => a.action).sort()).toEqual(['tx-commit', 'tx-rollback']);
    expect(audit.find((a) => a.id === c.auditId)).toMatchObject({ result: 'ok', target: expect.stringContaining('PID_OPS_TX') });
  }, 30_000);

  it('puts a discarded message back under check once (again only when asked)', async () => {
    const d = (await env.ok('tx:list', {})).discarded[0]!;
    const res = await env.ok('tx:recheck', { brokerName: d.brokerName, msgId: d.msgId, confirm: true });
    expect(res.newMsgId).toMatch(/^[0-9A-F]{32}$/);
    expect((await env.fails('tx:recheck', { brokerName: d.brokerName, msgId: d.msgId, confirm: true })).code).toBe('CONFLICT');
    expect((await env.ok('tx:list', {})).discarded.find((x) => x.msgId === d.msgId)!.requeuedAt).not.toBeNull();
    // It is a half message again (same UNIQ_KEY, same producer group), and since nobody answers it is discarded again.
    await waitFor(async () => (await env.ok('tx:stats', {})).discarded === 2, 20_000, 'the put-back message discarded again');
    const discarded = (await env.ok('tx:list', {})).discarded;
    expect(discarded.filter((x) => x.uniqKey === ids['discard'])).toHaveLength(2);
    const rechecks = (await env.ok('audit:list', {})).filter((a) => a.action === 'tx-recheck');
    expect(rechecks.map((a) => a.result)).toEqual(['failed', 'ok']); // the refused second one, then the first
    // The overview badge agrees.
    const badges = await env.ok('overview:badges', {});
    expect(badges.transactions).toMatchObject({ pending: 1, discarded: 2 });
    expect(badges.delay!.waiting).toBeGreaterThanOrEqual(1);
  }, 40_000);
});
