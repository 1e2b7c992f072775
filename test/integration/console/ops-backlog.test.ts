/**
 * Lag history, the stuck-queue finder and the backlog migration wizard through the console, against
 * a real embedded cluster (loopback TCP only). A group with a 50,000-message backlog and no consumer:
 * its lag samples show it steady and every queue stuck; the message at a stuck offset is inspected,
 * skipped (offset + 1 with a snapshot) and the snapshot restored. Remedy A adds queues. Remedy B
 * migrates the backlog through a temporary topic while the console service is stopped and started
 * again in the middle (the cluster keeps running): the group's offsets end at the snapshot, a
 * consumer of the temporary group receives every message exactly once, the count check finds every
 * message forwarded exactly once, and restore deletes the temporary topic. A second, small
 * migration is paused, resumed and cancelled (offsets back at the snapshot).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestCode } from '../../../src-main/remoting/request-code.js';
import type { MigrationJob } from '../../../src-main/console/contract/ops-dto.js';
import { waitFor } from '../../harness/temp-dir.js';
import { createConsumer, type OnsMessage } from '../../harness/ali-ons.js';
import { produce, startOpsEnv, waitRoute, type OpsEnv } from './ops-env.js';

const TOPIC = 'OpsBacklogTopic';
const GROUP = 'GID_OPS_BACKLOG';
const BACKLOG = Number(process.env['OPS_BACKLOG'] ?? 50_000);
let env: OpsEnv;

async function setOffsets(group: string, topic: string, offset: number): Promise<void> {
  const route = await env.admin.routeInfo(topic);
  for (const q of route.queueDatas) {
    const addr = route.brokerDatas.find((b) => b.brokerName === q.brokerName)!.brokerAddrs['0']!;
    for (let i = 0; i < q.readQueueNums; i++) {
      await env.admin.call(addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: i, commitOffset: offset });
    }
  }
}

async function groupLag(group: string, topic: string): Promise<number> {
  const d = await env.ok('group:detail', { group });
  return d.queues.filter((q) => q.topic === topic).reduce((s, q) => s + q.lag, 0);
}

beforeAll(async () => {
  env = await startOpsEnv('ops-backlog', {}, { sampleIntervalMs: 500 });
  await env.ok('topic:create', { topic: TOPIC, readQueueNums: 2, writeQueueNums: 2 });
  await env.ok('group:create', { group: GROUP });
  await waitRoute(env.admin, TOPIC);
  await setOffsets(GROUP, TOPIC, 0);
  const messages = [];
  for (let i = 0; i < BACKLOG; i++) messages.push({ topic: TOPIC, body: `backlog-${i}`, properties: { KEYS: `bk-${i}` } });
  await produce(env.admin, messages, 256);
}, 180_000);

afterAll(async () => {
  await env?.stop();
}, 60_000);

describe('lag history and the stuck-queue finder', () => {
  it('samples the lag; with no consumer it is steady and every queue is stuck', async () => {
    await waitFor(async () => {
      const x = await env.ok('group:lag-history', { group: GROUP });
      return x.stuck.length === 4 && x.trend.state === 'steady';
    }, 30_000, 'four stuck queues and a steady lag');
    const h = await env.ok('group:lag-history', { group: GROUP });
    expect(h.samples.length).toBeGreaterThanOrEqual(3);
    expect(h.samples[h.samples.length - 1]!.lag).toBe(BACKLOG);
    expect(h.trend.state).toBe('steady');
    expect(h.samples.slice(-5).every((s) => s.consumeRate === 0 && s.produceRate === 0)).toBe(true);
    expect(h.stuck.reduce((s, q) => s + q.lag, 0)).toBe(BACKLOG);
    expect(h.stuck.every((q) => q.consumerOffset === 0 && q.topic === TOPIC)).toBe(true);
    expect(h.onlineClients).toBe(0);
    expect(h.current.filter((q) => q.topic === TOPIC)).toHaveLength(4);
    const badges = await env.ok('overview:badges', {});
    expect(badges.backlog).toMatchObject({ worstGroup: GROUP, stuckQueues: 4 });
    expect(badges.backlog!.totalLag).toBeGreaterThanOrEqual(BACKLOG);
  }, 30_000);

  it('inspects the message at a stuck offset, skips it with a snapshot, and restores the snapshot', async () => {
    const q = (await env.ok('group:lag-history', { group: GROUP })).stuck[0]!;
    const inspect = await env.ok('group:stuck-inspect', { group: GROUP, topic: TOPIC, brokerName: q.brokerName, queueId: q.queueId });
    expect(inspect).toMatchObject({ consumerOffset: 0, reconsumeTimes: 0, retryCopies: [], dlqTwin: [], consumersOnline: 0 });
    expect(inspect.message!.queueOffset).toBe(0);
    expect(inspect.message!.keys).toMatch(/^bk-\d+$/);

    expect((await env.fails('group:skip-message', { group: GROUP, topic: TOPIC, brokerName: q.brokerName, queueId: q.queueId, expectedOffset: 7, confirm: true })).code)
      .toBe('CONFLICT');
    const skip = await env.ok('group:skip-message', { group: GROUP, topic: TOPIC, brokerName: q.brokerName, queueId: q.queueId, expectedOffset: 0, confirm: true });
    expect(skip).toMatchObject({ previousOffset: 0, newOffset: 1, consumersOnline: 0 });
    const after = await env.ok('group:stuck-inspect', { group: GROUP, topic: TOPIC, brokerName: q.brokerName, queueId: q.queueId });
    expect(after.consumerOffset).toBe(1);
    expect(after.message!.queueOffset).toBe(1);
    expect(after.snapshots[0]).toMatchObject({ id: skip.snapshotId, restoredAt: null });
    expect(after.snapshots[0]!.queues).toHaveLength(4);

    const restored = await env.ok('group:offset-restore', { snapshotId: skip.snapshotId, confirm: true });
    expect(restored.queues.every((x) => x.offset === 0)).toBe(true);
    expect((await env.ok('group:stuck-inspect', { group: GROUP, topic: TOPIC, brokerName: q.brokerName, queueId: q.queueId })).consumerOffset).toBe(0);
    const audit = await env.ok('audit:list', {});
    expect(audit.slice(0, 2).map((a) => a.action)).toEqual(['offset-restore', 'offset-skip']);
    expect(await groupLag(GROUP, TOPIC)).toBe(BACKLOG);
  });
});

describe('backlog migration wizard', () => {
  it('diagnoses the backlog: lag per queue, rates, consumers vs queues, a recommendation', async () => {
    const d = await env.ok('migration:diagnose', { group: GROUP, topic: TOPIC });
    expect(d.totalLag).toBe(BACKLOG);
    expect(d.queues).toHaveLength(4);
    expect(d).toMatchObject({ onlineConsumers: 0, readQueues: 4, ordered: false, growing: true, recommendation: 'add-consumers', consumersThatHelp: 4 });
    expect(d.consumeRate).toBe(0);
    expect(d.rateSource).toBe('history');
    expect(d.drainMinutes).toBeNull();
  });

  it('remedy A adds queues on every broker, refusing to remove any', async () => {
    await env.ok('topic:create', { topic: 'OpsGrowTopic', readQueueNums: 2, writeQueueNums: 2 });
    await waitRoute(env.admin, 'OpsGrowTopic');
    expect((await env.fails('migration:add-queues', { topic: 'OpsGrowTopic', queuesPerBroker: 4, confirmName: 'nope' })).code).toBe('CONFLICT');
    expect((await env.fails('migration:add-queues', { topic: 'OpsGrowTopic', queuesPerBroker: 1, confirmName: 'OpsGrowTopic' })).code).toBe('CONFLICT');
    await env.ok('migration:add-queues', { topic: 'OpsGrowTopic', queuesPerBroker: 4, confirmName: 'OpsGrowTopic' });
    const detail = await env.ok('topic:detail', { topic: 'OpsGrowTopic' });
    expect(detail.brokers.map((b) => [b.brokerName, b.readQueueNums, b.writeQueueNums])).toEqual([['broker-a', 4, 4], ['broker-b', 4, 4]]);
    expect((await env.ok('audit:list', {}))[0]).toMatchObject({ action: 'topic-add-queues', target: 'OpsGrowTopic', result: 'ok' });
  });

  it(`remedy B forwards ${BACKLOG} messages exactly once across a restart of the console, drains, checks and restores`, async () => {
    const job = await env.ok('migration:start', { group: GROUP, topic: TOPIC, tempQueuesPerBroker: 8, ratePerSecond: 100_000, requestId: 'mig-1' });
    expect((await env.ok('migration:start', { group: GROUP, topic: TOPIC, requestId: 'mig-1' })).id).toBe(job.id);
    expect((await env.fails('migration:start', { group: GROUP, topic: TOPIC, requestId: 'mig-other' })).code).toBe('CONFLICT');
    expect(job.tempTopic).toMatch(new RegExp(`^${TOPIC}-mig-[0-9a-f]{6}$`));

    // Stop the console service (not the cluster) in the middle of forwarding.
    await waitFor(async () => (await env.ok('migration:get', { jobId: job.id })).forwarded >= BACKLOG / 4, 120_000, 'a quarter forwarded');
    const before = await env.ok('migration:get', { jobId: job.id });
    expect(before.state).toBe('forwarding');
    expect(before.total).toBe(BACKLOG);
    await env.restartService();
    const resumed = await env.ok('migration:get', { jobId: job.id });
    expect(['forwarding', 'draining']).toContain(resumed.state);
    expect(resumed.log.some((l) => l.text.includes('resumed after a restart'))).toBe(true);

    let drained: MigrationJob | null = null;
    await waitFor(async () => {
      drained = await env.ok('migration:get', { jobId: job.id });
      return drained.state === 'draining';
    }, 180_000, 'forwarding done');
    expect(drained!.forwarded).toBe(BACKLOG);
    expect(drained!.queues.every((q) => q.cursor === q.endOffset)).toBe(true);
    // The group's committed offsets are at the snapshot: its own consumers see no backlog.
    expect(await groupLag(GROUP, TOPIC)).toBe(0);
    expect((await env.fails('migration:control', { jobId: job.id, action: 'restore' })).code).toBe('CONFLICT'); // not drained yet

    // An extra consumer of the temporary group drains the temporary topic.
    const seen = new Map<string, number>();
    const consumer = env.track(createConsumer(env.cluster.namesrvAddr, drained!.tempGroup, 'ops-mig-drain-1', {
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000,
    }));
    consumer.on('error', () => undefined);
    consumer.subscribe(drained!.tempTopic, '*', async (msg: OnsMessage) => {
      const body = msg.body.toString();
      seen.set(body, (seen.get(body) ?? 0) + 1);
    });
    await consumer.ready();
    await waitFor(async () => (await env.ok('migration:get', { jobId: job.id })).tempLag === 0, 240_000, 'the temporary topic drained');
    await env.closeClients();
    expect(seen.size).toBe(BACKLOG);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    await env.ok('migration:control', { jobId: job.id, action: 'restore' });
    const done = await env.service.ops.migrations.waitFor(job.id, ['done', 'failed'], 120_000);
    expect(done.error).toBeNull();
    expect(done.state).toBe('done');
    expect(done.check).toMatchObject({ expected: BACKLOG, forwarded: BACKLOG, duplicates: 0, missing: 0, ok: true });
    if (process.env['OPS_DEBUG']) console.log(done.log.map((l) => l.text).join('\n'));
    const topics = (await env.ok('topic:list', {})).topics.map((t) => t.name);
    expect(topics).not.toContain(drained!.tempTopic);
    expect(topics).toContain(TOPIC);
    expect(await groupLag(GROUP, TOPIC)).toBe(0);
    expect(env.migrationEvents.some((e) => e.id === job.id && e.state === 'done')).toBe(true);
  }, 600_000);

  it('a small migration is paused, resumed and cancelled: offsets go back to the snapshot', async () => {
    const topic = 'OpsSmallBacklog';
    const group = 'GID_OPS_SMALL';
    await env.ok('topic:create', { topic, readQueueNums: 1, writeQueueNums: 1 });
    await env.ok('group:create', { group });
    await waitRoute(env.admin, topic);
    await setOffsets(group, topic, 0);
    await produce(env.admin, Array.from({ length: 3000 }, (_, i) => ({ topic, body: `small-${i}`, properties: {} })));
    const job = await env.ok('migration:start', { group, topic, tempQueuesPerBroker: 2, ratePerSecond: 1000, requestId: 'mig-small' });
    await waitFor(async () => (await env.ok('migration:get', { jobId: job.id })).forwarded >= 512, 30_000, 'some forwarded');
    const paused = await env.ok('migration:control', { jobId: job.id, action: 'pause' });
    expect(paused.paused).toBe(true);
    const at = (await env.ok('migration:get', { jobId: job.id })).forwarded;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await env.ok('migration:get', { jobId: job.id })).forwarded).toBe(at);
    expect(await groupLag(group, topic)).toBe(3000 - at);
    await env.ok('migration:control', { jobId: job.id, action: 'resume' });
    await waitFor(async () => (await env.ok('migration:get', { jobId: job.id })).forwarded > at, 30_000, 'forwarding again');
    await env.ok('migration:control', { jobId: job.id, action: 'cancel' });
    const cancelled = await env.service.ops.migrations.waitFor(job.id, ['cancelled', 'failed'], 30_000);
    expect(cancelled.state).toBe('cancelled');
    expect(await groupLag(group, topic)).toBe(3000);
    expect((await env.ok('topic:list', {})).topics.map((t) => t.name)).not.toContain(job.tempTopic);
    expect((await env.fails('migration:control', { jobId: job.id, action: 'resume' })).code).toBe('CONFLICT');
  }, 120_000);
});
