/**
 * group:list / group:detail / group:reset-offset / group:create / group:delete.
 * Groups are the masters' subscription group tables; lag and TPS come from GET_CONSUME_STATS,
 * clients and subscriptions from GET_CONSUMER_CONNECTION_LIST. RocketMQ: mqadmin consumerProgress,
 * resetOffsetByTime, updateSubGroup, deleteSubGroup; dashboard ConsumerServiceImpl.
 */
import { AdminError, type MQAdmin, type QueueOffsets } from '../../remoting/admin/mq-admin.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { ConsoleError } from '../contract/errors.js';
import { randomBytes } from 'node:crypto';
import type { GroupDetail, GroupQueueOffset, GroupSummary, ResetOffsetQueue } from '../contract/dto.js';
import type { OffsetSnapshot } from '../contract/ops-dto.js';
import type { Handler } from '../dispatch.js';
import {
  Budget, brokerGroups, errorText, isSystemGroup, mapLimit, mastersOrFail, routeBrokers, timeOrNull, topicRoute, type BrokerAddr,
} from '../cluster-view.js';

async function groupConfigs(admin: MQAdmin, masters: BrokerAddr[], errors: string[]):
  Promise<Map<string, Array<{ brokerName: string; config: Record<string, unknown> }>>> {
  const out = new Map<string, Array<{ brokerName: string; config: Record<string, unknown> }>>();
  await mapLimit(masters, 8, async (m) => {
    try {
      for (const [name, config] of Object.entries(await admin.allSubscriptionGroups(m.master!))) {
        const list = out.get(name) ?? [];
        list.push({ brokerName: m.brokerName, config });
        out.set(name, list);
      }
    } catch (error) {
      errors.push(`${m.brokerName}: ${errorText(error)}`);
    }
  });
  return out;
}

async function consumeStatsAll(admin: MQAdmin, masters: BrokerAddr[], group: string, errors: string[], topic?: string):
  Promise<{ queues: QueueOffsets[]; consumeTps: number | null }> {
  const queues: QueueOffsets[] = [];
  let tps: number | null = null;
  await mapLimit(masters, 8, async (m) => {
    try {
      const s = await admin.brokerConsumeStats(m.master!, group, topic);
      queues.push(...s.queues);
      if (s.consumeTps !== null) tps = (tps ?? 0) + s.consumeTps;
    } catch (error) {
      // A broker that never saw the group answers an error; that is "no offsets there", not a failure.
      if (!(error instanceof AdminError && error.code === ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST)) {
        errors.push(`${m.brokerName}: ${errorText(error)}`);
      }
    }
  });
  queues.sort((a, b) => a.topic.localeCompare(b.topic) || a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  return { queues, consumeTps: tps };
}

async function onlineConnection(admin: MQAdmin, masters: BrokerAddr[], group: string) {
  for (const m of masters) {
    try {
      const c = await admin.consumerConnection(m.master!, group);
      if (c) return c;
    } catch {
      // try the next broker
    }
  }
  return null;
}

const lagOf = (q: QueueOffsets): number => Math.max(0, q.brokerOffset - q.consumerOffset);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const groupList: Handler<'group:list'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const masters = (await brokerGroups(admin)).filter((g) => g.master);
  const errors: string[] = [];
  const configs = await groupConfigs(admin, masters, errors);
  const query = req.query.trim().toLowerCase();
  const names = [...configs.keys()]
    .filter((n) => req.includeSystem || !isSystemGroup(n))
    .filter((n) => !query || n.toLowerCase().includes(query))
    .sort((a, b) => a.localeCompare(b));
  const budget = new Budget(req.budget.maxRows, req.budget.maxMs, ctx.op?.signal);
  let examined = 0;
  const groups: GroupSummary[] = await mapLimit(names, 4, async (name): Promise<GroupSummary> => {
    const perBroker = configs.get(name) ?? [];
    const first = perBroker[0]?.config ?? {};
    const summary: GroupSummary = {
      name,
      system: isSystemGroup(name),
      brokers: perBroker.map((b) => b.brokerName).sort(),
      onlineClients: null,
      totalLag: null,
      consumeTps: null,
      messageModel: null,
      consumeType: null,
      orderly: bool(first['consumeMessageOrderly']),
      retryMaxTimes: num(first['retryMaxTimes']),
    };
    if (!budget.ok()) return summary;
    budget.rows++;
    const statErrors: string[] = [];
    const [stats, connection] = await Promise.all([consumeStatsAll(admin, masters, name, statErrors), onlineConnection(admin, masters, name)]);
    summary.totalLag = statErrors.length > 0 ? null : stats.queues.reduce((s, q) => s + lagOf(q), 0);
    summary.consumeTps = stats.consumeTps;
    summary.onlineClients = connection?.connectionSet?.length ?? 0;
    summary.messageModel = connection?.messageModel ?? null;
    summary.consumeType = connection?.consumeType ?? null;
    if (statErrors.length > 0) errors.push(`${name}: ${statErrors.join('; ')}`);
    ctx.op?.progress(++examined, names.length, name);
    return summary;
  });
  if (budget.cancelled) errors.unshift('Cancelled: groups after the cancel show no lag');
  return { groups, total: configs.size, partial: budget.reason !== null || errors.length > 0, errors: errors.slice(0, 20) };
};

export const groupDetail: Handler<'group:detail'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const masters = (await brokerGroups(admin)).filter((g) => g.master);
  const errors: string[] = [];
  const configs = await groupConfigs(admin, masters, errors);
  const [stats, connection] = await Promise.all([
    consumeStatsAll(admin, masters, req.group, errors),
    onlineConnection(admin, masters, req.group),
  ]);
  const perBroker = configs.get(req.group);
  if (!perBroker && !connection && stats.queues.length === 0) {
    throw new ConsoleError('NOT_FOUND', `Consumer group "${req.group}" does not exist`);
  }
  const c = perBroker?.[0]?.config;
  const queues: GroupQueueOffset[] = stats.queues.map((q) => ({
    topic: q.topic, brokerName: q.brokerName, queueId: q.queueId, brokerOffset: q.brokerOffset, consumerOffset: q.consumerOffset,
    lag: lagOf(q), lastTimestamp: timeOrNull(q.lastTimestamp),
  }));
  const detail: GroupDetail = {
    group: req.group,
    exists: perBroker !== undefined,
    config: c ? {
      consumeEnable: bool(c['consumeEnable']),
      consumeBroadcastEnable: bool(c['consumeBroadcastEnable']),
      consumeMessageOrderly: bool(c['consumeMessageOrderly']),
      retryMaxTimes: num(c['retryMaxTimes']),
      retryQueueNums: num(c['retryQueueNums']),
    } : null,
    online: connection !== null,
    consumeType: connection?.consumeType ?? null,
    messageModel: connection?.messageModel ?? null,
    consumeFromWhere: connection?.consumeFromWhere ?? null,
    subscriptions: Object.entries(connection?.subscriptionTable ?? {}).map(([topic, s]) => ({
      topic: s.topic ?? topic, expressionType: s.expressionType ?? 'TAG', expression: s.subString ?? '*',
    })).sort((a, b) => a.topic.localeCompare(b.topic)),
    clients: (connection?.connectionSet ?? []).map((k) => ({
      clientId: k.clientId ?? '', address: k.clientAddr ?? null, language: k.language ?? null, version: typeof k.version === 'number' ? k.version : null,
    })),
    queues,
    totalLag: queues.reduce((s, q) => s + q.lag, 0),
    consumeTps: stats.consumeTps,
    errors,
  };
  return detail;
};

/**
 * Previews (per-queue current and new offset), then, unless `dryRun`, saves a snapshot of the
 * group's offsets on the topic (group:offset-restore writes it back in one click) and resets.
 * With an `opId` the preview reports progress per queue and can be cancelled; once the reset has
 * started it runs to the end (a half-applied reset is worse than a finished one).
 */
export const groupResetOffset: Handler<'group:reset-offset'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const brokers = routeBrokers(route).filter((b) => b.addr);
  if (brokers.length === 0) throw new ConsoleError('UNREACHABLE', `No master broker of topic "${req.topic}" is up`);
  // "latest" is a search at now: the first offset stored at or after it is the queue's end.
  const timestamp = req.target === 'earliest' ? 0 : req.target === 'latest' ? Date.now() : req.timestamp!;
  const preview: ResetOffsetQueue[] = [];
  const totalQueues = brokers.reduce((n, b) => n + b.readQueueNums, 0);
  const cancelled = (): void => {
    if (ctx.op?.signal.aborted) throw new ConsoleError('CONFLICT', 'Cancelled before anything was changed');
  };
  await mapLimit(brokers, 8, async (b) => {
    const addr = b.addr!;
    const current = new Map<number, number>();
    try {
      for (const q of (await admin.brokerConsumeStats(addr, req.group, req.topic)).queues) current.set(q.queueId, q.consumerOffset);
    } catch {
      // No offsets yet on this broker: current stays unknown.
    }
    for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
      cancelled();
      let newOffset: number;
      if (req.target === 'earliest') newOffset = await admin.minOffset(addr, req.topic, queueId);
      else if (req.target === 'latest') newOffset = await admin.maxOffset(addr, req.topic, queueId);
      else newOffset = await admin.searchOffset(addr, req.topic, queueId, timestamp);
      preview.push({ brokerName: b.brokerName, queueId, currentOffset: current.get(queueId) ?? null, newOffset });
      ctx.op?.progress(preview.length, totalQueues, `${b.brokerName}/${queueId}`);
    }
  });
  preview.sort((a, b) => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  if (req.dryRun) return { applied: false, queues: preview, snapshotId: null };
  cancelled();

  // The snapshot first: if it cannot be saved, nothing is reset.
  const snapshot: OffsetSnapshot = {
    id: `s${Date.now().toString(36)}${randomBytes(3).toString('hex')}`, at: Date.now(), connectionId: req.connectionId,
    group: req.group, topic: req.topic,
    reason: `before reset to ${req.target === 'timestamp' ? new Date(timestamp).toISOString() : req.target}`,
    queues: preview.filter((p) => p.currentOffset !== null).map((p) => ({ brokerName: p.brokerName, queueId: p.queueId, offset: p.currentOffset! })),
    restoredAt: null,
  };
  await ctx.ops.snapshots.put(snapshot);

  const applied: ResetOffsetQueue[] = [];
  for (const b of brokers) {
    const addr = b.addr!;
    try {
      const moved = await admin.resetOffset(addr, { topic: req.topic, group: req.group, timestamp, isForce: req.force });
      for (const m of moved) {
        const p = preview.find((x) => x.brokerName === b.brokerName && x.queueId === m.queueId);
        applied.push({ brokerName: b.brokerName, queueId: m.queueId, currentOffset: p?.currentOffset ?? null, newOffset: m.offset });
      }
    } catch (error) {
      // RocketMQ 4.x brokers refuse a reset for a group with no online client (CONSUMER_NOT_ONLINE);
      // the dashboard then writes each queue's offset directly, and so do we.
      if (!(error instanceof AdminError && error.code === ResponseCode.CONSUMER_NOT_ONLINE)) throw error;
      for (const p of preview.filter((x) => x.brokerName === b.brokerName)) {
        if (p.newOffset === null) continue;
        if (!req.force && p.currentOffset !== null && p.newOffset >= p.currentOffset) continue;
        await admin.call(addr, RequestCode.UPDATE_CONSUMER_OFFSET, {
          consumerGroup: req.group, topic: req.topic, queueId: p.queueId, commitOffset: p.newOffset,
        });
        applied.push(p);
      }
    }
  }
  applied.sort((a, b) => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  return { applied: true, queues: applied, snapshotId: snapshot.id };
};

export const groupCreate: Handler<'group:create'> = async (req, ctx) => {
  if (isSystemGroup(req.group)) throw new ConsoleError('FORBIDDEN', `"${req.group}" is a system group name`);
  const admin = ctx.connections.get(req.connectionId).admin;
  const masters = await mastersOrFail(admin);
  await Promise.all(masters.map((m) => admin.upsertGroup(m.master!, {
    groupName: req.group,
    consumeEnable: req.consumeEnable,
    consumeFromMinEnable: true,
    consumeBroadcastEnable: req.consumeBroadcastEnable,
    consumeMessageOrderly: req.consumeMessageOrderly,
    retryQueueNums: 1,
    retryMaxTimes: req.retryMaxTimes,
    brokerId: 0,
    whichBrokerWhenConsumeSlowly: 1,
    notifyConsumerIdsChangedEnable: true,
  })));
  return { ok: true };
};

export const groupDelete: Handler<'group:delete'> = async (req, ctx) => {
  if (req.confirmName !== req.group) throw new ConsoleError('CONFLICT', 'The confirmation does not match the group name; nothing was deleted');
  const admin = ctx.connections.get(req.connectionId).admin;
  const masters = await mastersOrFail(admin);
  const errors: string[] = [];
  const configs = await groupConfigs(admin, masters, errors);
  const holders = configs.get(req.group);
  if (!holders) throw new ConsoleError('NOT_FOUND', `Consumer group "${req.group}" does not exist`);
  const names = new Set(holders.map((h) => h.brokerName));
  await Promise.all(masters.filter((m) => names.has(m.brokerName)).map((m) => admin.deleteGroup(m.master!, req.group)));
  return { ok: true };
};
