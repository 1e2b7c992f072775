/**
 * group:lag-history / group:stuck-inspect / group:skip-message / group:offset-restore.
 * Lag history comes from the sampler (GET_CONSUME_STATS every 30 s, kept in NeDB); a queue is
 * stuck when its committed offset has not moved for two sampling periods while messages wait.
 * Skipping the message at a stuck offset is UPDATE_CONSUMER_OFFSET offset+1 on the master, after a
 * snapshot of the group's offsets on that topic that can be written back. A consumer that is online
 * keeps its own position and commits it again: the page says so.
 */
import { randomBytes } from 'node:crypto';
import { ConsoleError } from '../contract/errors.js';
import type { GroupQueueOffset } from '../contract/dto.js';
import type { OffsetSnapshot } from '../contract/ops-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { errorText, toDetail, toRow } from '../cluster-view.js';
import { findStuck, lagTrend, withRates } from '../ops/lag-math.js';
import { findCopies } from '../ops/copies.js';
import { dlqTopicOf, retryTopicOf } from '../ops/message-copy.js';
import { masterOf, messageAt, routeMasters, routeOrNull, updateConsumerOffset } from '../ops/cluster-ops.js';

async function consumersOnline(ctx: HandlerContext, connectionId: string, group: string): Promise<number> {
  const admin = ctx.connections.get(connectionId).admin;
  for (const m of (await admin.masterAddrs())) {
    try {
      const c = await admin.consumerConnection(m.addr, group);
      if (c) return c.connectionSet?.length ?? 0;
    } catch {
      // next broker
    }
  }
  return 0;
}

export const groupLagHistory: Handler<'group:lag-history'> = async (req, ctx) => {
  ctx.ops.sampler.watch(req.connectionId);
  const snap = await ctx.ops.sampler.freshGroup(req.connectionId, req.group);
  const raw = await ctx.ops.sampler.history(req.connectionId, req.group, req.windowMs);
  const samples = withRates(raw);
  const recent = ctx.ops.sampler.recentQueues(req.connectionId, req.group);
  const current: GroupQueueOffset[] = snap.queues.map((q) => ({
    topic: q.topic, brokerName: q.brokerName, queueId: q.queueId, brokerOffset: q.brokerOffset, consumerOffset: q.consumerOffset,
    lag: Math.max(0, q.brokerOffset - q.consumerOffset), lastTimestamp: null,
  }));
  return {
    group: req.group,
    intervalMs: ctx.ops.sampler.intervalMs,
    samples,
    trend: lagTrend(raw),
    stuck: findStuck(recent, 2 * ctx.ops.sampler.intervalMs),
    current,
    onlineClients: await consumersOnline(ctx, req.connectionId, req.group).catch(() => null),
  };
};

async function snapshotsOf(ctx: HandlerContext, connectionId: string, group: string): Promise<OffsetSnapshot[]> {
  return ctx.ops.snapshots.find({ connectionId, group }, { at: -1 }, 20);
}

export const groupStuckInspect: Handler<'group:stuck-inspect'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const addr = await masterOf(admin, req.brokerName);
  const stats = await admin.brokerConsumeStats(addr, req.group, req.topic).catch(() => ({ queues: [], consumeTps: null }));
  const q = stats.queues.find((x) => x.queueId === req.queueId && x.topic === req.topic);
  const consumerOffset = q?.consumerOffset ?? null;
  const brokerOffset = q?.brokerOffset ?? await admin.maxOffset(addr, req.topic, req.queueId).catch(() => null);
  const m = consumerOffset !== null && brokerOffset !== null && consumerOffset < brokerOffset
    ? await messageAt(admin, addr, req.topic, req.queueId, consumerOffset) : null;
  const errors: string[] = [];
  const [retries, dlq] = m
    ? await Promise.all([findCopies(admin, m, retryTopicOf(req.group), errors), findCopies(admin, m, dlqTopicOf(req.group), errors)])
    : [{ copies: [] }, { copies: [] }];
  const reconsume = m ? Math.max(m.reconsumeTimes, ...retries.copies.map((c) => c.m.reconsumeTimes), ...dlq.copies.map((c) => c.m.reconsumeTimes)) : null;
  return {
    group: req.group, topic: req.topic, brokerName: req.brokerName, queueId: req.queueId, consumerOffset, brokerOffset,
    message: m ? toDetail(m, req.brokerName) : null,
    reconsumeTimes: reconsume,
    retryCopies: retries.copies.map((c) => toRow(c.m, c.brokerName)),
    dlqTwin: dlq.copies.map((c) => toRow(c.m, c.brokerName)),
    consumersOnline: await consumersOnline(ctx, req.connectionId, req.group),
    snapshots: await snapshotsOf(ctx, req.connectionId, req.group),
  };
};

export const groupSkipMessage: Handler<'group:skip-message'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await routeOrNull(admin, req.topic);
  const brokers = routeMasters(route);
  const here = brokers.find((b) => b.brokerName === req.brokerName);
  if (!here) throw new ConsoleError('NOT_FOUND', `Topic "${req.topic}" has no queue on ${req.brokerName}`);
  const queues: OffsetSnapshot['queues'] = [];
  let current: number | null = null;
  for (const b of brokers) {
    const stats = await admin.brokerConsumeStats(b.addr, req.group, req.topic).catch(() => ({ queues: [] as Array<{ queueId: number; topic: string; consumerOffset: number; brokerOffset: number }> }));
    for (const q of stats.queues) {
      if (q.topic !== req.topic) continue;
      queues.push({ brokerName: b.brokerName, queueId: q.queueId, offset: q.consumerOffset });
      if (b.brokerName === req.brokerName && q.queueId === req.queueId) {
        current = q.consumerOffset;
        if (q.consumerOffset >= q.brokerOffset) throw new ConsoleError('CONFLICT', 'Nothing waits on this queue: there is no message to skip');
      }
    }
  }
  if (current === null) throw new ConsoleError('NOT_FOUND', `${req.group} has no offset on ${req.topic} ${req.brokerName}/${req.queueId}`);
  if (current !== req.expectedOffset) {
    throw new ConsoleError('CONFLICT', `The offset moved (now ${current}, the page showed ${req.expectedOffset}); nothing was changed`);
  }
  const snapshot: OffsetSnapshot = {
    id: `s${Date.now().toString(36)}${randomBytes(3).toString('hex')}`, at: Date.now(), connectionId: req.connectionId, group: req.group,
    topic: req.topic, reason: `skip ${req.brokerName}/${req.queueId}@${current}`, queues, restoredAt: null,
  };
  await ctx.ops.snapshots.put(snapshot);
  const target = `${req.group}@${req.topic} ${req.brokerName}/${req.queueId}`;
  try {
    await updateConsumerOffset(admin, here.addr, req.group, req.topic, req.queueId, current + 1);
  } catch (error) {
    await ctx.ops.recordAudit({ action: 'offset-skip', connectionId: req.connectionId, target, detail: `${current} → ${current + 1}`, result: 'failed', error: errorText(error) });
    throw error;
  }
  await ctx.ops.recordAudit({ action: 'offset-skip', connectionId: req.connectionId, target, detail: `${current} → ${current + 1}, snapshot ${snapshot.id}`, result: 'ok', error: null });
  return { snapshotId: snapshot.id, previousOffset: current, newOffset: current + 1, consumersOnline: await consumersOnline(ctx, req.connectionId, req.group) };
};

export const groupOffsetRestore: Handler<'group:offset-restore'> = async (req, ctx) => {
  const snapshot = await ctx.ops.snapshots.get(req.snapshotId);
  if (!snapshot || snapshot.connectionId !== req.connectionId) throw new ConsoleError('NOT_FOUND', `No offset snapshot "${req.snapshotId}"`);
  const admin = ctx.connections.get(req.connectionId).admin;
  const target = `${snapshot.group}@${snapshot.topic}`;
  try {
    for (const q of snapshot.queues) {
      await updateConsumerOffset(admin, await masterOf(admin, q.brokerName), snapshot.group, snapshot.topic, q.queueId, q.offset);
    }
  } catch (error) {
    await ctx.ops.recordAudit({ action: 'offset-restore', connectionId: req.connectionId, target, detail: `snapshot ${snapshot.id}`, result: 'failed', error: errorText(error) });
    throw error;
  }
  await ctx.ops.snapshots.put({ ...snapshot, restoredAt: Date.now() });
  await ctx.ops.recordAudit({ action: 'offset-restore', connectionId: req.connectionId, target, detail: `snapshot ${snapshot.id} (${snapshot.reason})`, result: 'ok', error: null });
  return { snapshotId: snapshot.id, queues: snapshot.queues };
};
