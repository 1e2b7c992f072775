/**
 * migration:diagnose / migration:add-queues / migration:start / migration:list / migration:get /
 * migration:control: the backlog wizard. Diagnosis reads the group's per-queue lag
 * (GET_CONSUME_STATS), its consume and produce rates (sampled offsets), online consumers
 * (GET_CONSUMER_CONNECTION_LIST) and the topic's queues and order flag (GET_ALL_TOPIC_CONFIG).
 * Remedy A adds queues with UPDATE_AND_CREATE_TOPIC on every master of the topic; remedy B is the
 * resumable migration job (ops/migration.ts).
 */
import { ConsoleError } from '../contract/errors.js';
import type { MigrationDiagnosis } from '../contract/ops-dto.js';
import type { Handler } from '../dispatch.js';
import { RequestCode } from '../../remoting/request-code.js';
import { errorText } from '../cluster-view.js';
import { routeMasters, routeOrNull } from '../ops/cluster-ops.js';
import type { GroupSnapshot } from '../ops/sampler.js';

/** A backlog that drains within this is left alone. */
const QUICK_DRAIN_MINUTES = 10;

function topicRates(snaps: GroupSnapshot[], topic: string): { consume: number; produce: number } | null {
  const recent = snaps.filter((s) => s.at >= Date.now() - 10 * 60_000);
  if (recent.length < 2) return null;
  const first = recent[0]!;
  const last = recent[recent.length - 1]!;
  const dt = (last.at - first.at) / 1000;
  if (dt <= 0) return null;
  const sum = (s: GroupSnapshot, f: 'consumerOffset' | 'brokerOffset'): number => s.queues.filter((q) => q.topic === topic).reduce((a, q) => a + q[f], 0);
  return {
    consume: Math.max(0, (sum(last, 'consumerOffset') - sum(first, 'consumerOffset')) / dt),
    produce: Math.max(0, (sum(last, 'brokerOffset') - sum(first, 'brokerOffset')) / dt),
  };
}

export const migrationDiagnose: Handler<'migration:diagnose'> = async (req, ctx) => {
  ctx.ops.sampler.watch(req.connectionId);
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await routeOrNull(admin, req.topic);
  const brokers = routeMasters(route);
  if (brokers.length === 0) throw new ConsoleError('NOT_FOUND', `Topic "${req.topic}" does not exist or has no master up`);
  let snaps = ctx.ops.sampler.recentQueues(req.connectionId, req.group);
  let rates = topicRates(snaps, req.topic);
  if (!rates) {
    // No history yet: two samples a moment apart.
    await ctx.ops.sampler.sampleGroup(req.connectionId, req.group);
    await new Promise((r) => setTimeout(r, 1500));
    await ctx.ops.sampler.sampleGroup(req.connectionId, req.group);
    snaps = ctx.ops.sampler.recentQueues(req.connectionId, req.group);
    rates = topicRates(snaps, req.topic);
  }
  const last = snaps[snaps.length - 1];
  const queues = (last?.queues ?? []).filter((q) => q.topic === req.topic).map((q) => ({
    brokerName: q.brokerName, queueId: q.queueId, brokerOffset: q.brokerOffset, consumerOffset: q.consumerOffset,
    lag: Math.max(0, q.brokerOffset - q.consumerOffset),
  }));
  const totalLag = queues.reduce((s, q) => s + q.lag, 0);
  let ordered = false;
  for (const b of brokers) {
    try {
      if ((await admin.allTopicConfig(b.addr))[req.topic]?.order) ordered = true;
      const groupConfig = (await admin.allSubscriptionGroups(b.addr))[req.group];
      if (groupConfig?.['consumeMessageOrderly'] === true) ordered = true;
    } catch {
      // keep what we know
    }
  }
  let online = 0;
  for (const b of brokers) {
    try {
      const c = await admin.consumerConnection(b.addr, req.group);
      if (c) {
        online = c.connectionSet?.length ?? 0;
        break;
      }
    } catch {
      // next broker
    }
  }
  const readQueues = brokers.reduce((s, b) => s + b.readQueueNums, 0);
  const net = rates ? rates.consume - rates.produce : null;
  const drainMinutes = totalLag === 0 ? 0 : net !== null && net > 0 ? Math.ceil(totalLag / net / 60) : null;
  const growing = totalLag > 0 && rates !== null && rates.produce >= rates.consume;
  let recommendation: MigrationDiagnosis['recommendation'];
  if (totalLag === 0 || (drainMinutes !== null && drainMinutes <= QUICK_DRAIN_MINUTES)) recommendation = 'none';
  else if (online < readQueues) recommendation = 'add-consumers';
  else if (growing && !ordered) recommendation = 'add-queues';
  else recommendation = 'migrate';
  return {
    group: req.group, topic: req.topic, queues, totalLag,
    consumeRate: rates?.consume ?? null, produceRate: rates?.produce ?? null, rateSource: rates ? 'history' : 'none',
    drainMinutes, growing, onlineConsumers: online, readQueues,
    writeQueuesPerBroker: brokers.map((b) => ({ brokerName: b.brokerName, readQueueNums: b.readQueueNums, writeQueueNums: b.writeQueueNums })),
    ordered, recommendation, consumersThatHelp: Math.max(0, readQueues - online),
  };
};

export const migrationAddQueues: Handler<'migration:add-queues'> = async (req, ctx) => {
  if (req.confirmName !== req.topic) throw new ConsoleError('CONFLICT', 'The confirmation does not match the topic name; nothing was changed');
  const admin = ctx.connections.get(req.connectionId).admin;
  const brokers = routeMasters(await routeOrNull(admin, req.topic));
  if (brokers.length === 0) throw new ConsoleError('NOT_FOUND', `Topic "${req.topic}" does not exist or has no master up`);
  const smaller = brokers.find((b) => req.queuesPerBroker < Math.max(b.readQueueNums, b.writeQueueNums));
  if (smaller) {
    throw new ConsoleError('CONFLICT', `${smaller.brokerName} already has ${Math.max(smaller.readQueueNums, smaller.writeQueueNums)} queues; removing queues strands their messages`);
  }
  const detail = `${brokers.map((b) => `${b.brokerName} ${b.writeQueueNums}`).join(', ')} → ${req.queuesPerBroker} queues each`;
  try {
    for (const b of brokers) {
      const config = (await admin.allTopicConfig(b.addr))[req.topic];
      await admin.call(b.addr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
        topic: req.topic, defaultTopic: 'TBW102', readQueueNums: req.queuesPerBroker, writeQueueNums: req.queuesPerBroker,
        perm: config?.perm ?? b.perm, topicFilterType: 'SINGLE_TAG', topicSysFlag: config?.topicSysFlag ?? 0, order: config?.order ?? false,
      });
    }
  } catch (error) {
    await ctx.ops.recordAudit({ action: 'topic-add-queues', connectionId: req.connectionId, target: req.topic, detail, result: 'failed', error: errorText(error) });
    throw error;
  }
  await ctx.ops.recordAudit({ action: 'topic-add-queues', connectionId: req.connectionId, target: req.topic, detail, result: 'ok', error: null });
  return { ok: true };
};

export const migrationStart: Handler<'migration:start'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  if (!req.force) {
    for (const m of await admin.masterAddrs()) {
      const c = await admin.consumerConnection(m.addr, req.group).catch(() => null);
      if (c && (c.connectionSet?.length ?? 0) > 0) {
        throw new ConsoleError('CONFLICT', `${c.connectionSet!.length} consumer(s) of ${req.group} are online: they keep their own offsets and would consume the backlog too. Stop them first, or start with force`);
      }
    }
  }
  return ctx.ops.migrations.start({
    connectionId: req.connectionId, group: req.group, topic: req.topic, tempQueuesPerBroker: req.tempQueuesPerBroker,
    ratePerSecond: req.ratePerSecond, autoRestore: req.autoRestore, requestId: req.requestId,
  });
};

export const migrationList: Handler<'migration:list'> = async (_req, ctx) => ctx.ops.migrations.list();

export const migrationGet: Handler<'migration:get'> = async (req, ctx) => ctx.ops.migrations.get(req.jobId);

export const migrationControl: Handler<'migration:control'> = async (req, ctx) => ctx.ops.migrations.control(req.jobId, req.action);
