/**
 * delay:stats / delay:list: the scheduler's queues. Per master: SCHEDULE_TOPIC_XXXX queue
 * level−1 holds the messages of that level in store order; GET_ALL_DELAY_OFFSET gives the next
 * offset the scheduler delivers per level; GET_BROKER_CONFIG its messageDelayLevel. Waiting =
 * max offset − progress; the message at the progress offset is the oldest waiting and the next due
 * (due = store time + the level's delay, what RocketMQ puts in the consume queue's tag code).
 * Counts due in each 5-minute bucket of the next hour come from SEARCH_OFFSET_BY_TIMESTAMP: a
 * message of level L is due in [t, t+5m) when it was stored in [t−d, t+5m−d). Delivered per minute
 * comes from the sampler's progress history.
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import type { DelayLevelRow, DelayStats, DelayWaitingRow, DueBucket } from '../contract/ops-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { RequestCode } from '../../remoting/request-code.js';
import { errorText } from '../cluster-view.js';
import { delayOffsets } from '../ops/sampler.js';
import { messageAt, pullPages, routeMasters, routeOrNull } from '../ops/cluster-ops.js';

export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
const STANDARD_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';
const BUCKET_MS = 5 * 60_000;
const BUCKETS = 12;

/** RocketMQ messageDelayLevel: "1s 5s 10s 30s 1m … 2h" (units ms, s, m, h, d). */
export function parseDelayLevels(text: string): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };
  const out: number[] = [];
  for (const part of text.trim().split(/\s+/)) {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(part);
    if (!m) continue;
    out.push(Number(m[1]) * unit[m[2]!]!);
  }
  return out;
}

export async function brokerDelayLevels(admin: MQAdmin, addr: string): Promise<number[]> {
  try {
    const res = await admin.call(addr, RequestCode.GET_BROKER_CONFIG);
    const line = (res.body?.toString('utf8') ?? '').split('\n').find((l) => l.startsWith('messageDelayLevel='));
    const levels = line ? parseDelayLevels(line.slice('messageDelayLevel='.length)) : [];
    return levels.length > 0 ? levels : parseDelayLevels(STANDARD_LEVELS);
  } catch {
    return parseDelayLevels(STANDARD_LEVELS);
  }
}

interface LevelState {
  brokerName: string;
  addr: string;
  level: number;
  delayMs: number;
  progress: number;
  maxOffset: number;
}

async function levelStates(ctx: HandlerContext, connectionId: string, errors: string[]): Promise<LevelState[]> {
  const admin = ctx.connections.get(connectionId).admin;
  const route = await routeOrNull(admin, SCHEDULE_TOPIC);
  const out: LevelState[] = [];
  for (const b of routeMasters(route)) {
    try {
      const [levels, offsets] = await Promise.all([brokerDelayLevels(admin, b.addr), delayOffsets(admin, b.addr)]);
      ctx.ops.sampler.recordDelay(connectionId, b.brokerName, offsets);
      for (let level = 1; level <= Math.min(levels.length, b.readQueueNums); level++) {
        const queueId = level - 1;
        const [min, max] = await Promise.all([admin.minOffset(b.addr, SCHEDULE_TOPIC, queueId), admin.maxOffset(b.addr, SCHEDULE_TOPIC, queueId)]);
        const progress = Math.min(max, Math.max(min, offsets.get(level) ?? min));
        out.push({ brokerName: b.brokerName, addr: b.addr, level, delayMs: levels[level - 1]!, progress, maxOffset: max });
      }
    } catch (error) {
      errors.push(`${b.brokerName}: ${errorText(error)}`);
    }
  }
  return out;
}

export async function computeDelayStats(ctx: HandlerContext, connectionId: string): Promise<DelayStats> {
  const admin = ctx.connections.get(connectionId).admin;
  const errors: string[] = [];
  const states = await levelStates(ctx, connectionId, errors);
  const now = Date.now();
  const buckets: DueBucket[] = Array.from({ length: BUCKETS }, (_, i) => ({ from: now + i * BUCKET_MS, to: now + (i + 1) * BUCKET_MS, count: 0 }));
  let overdue = 0;
  let dueLater = 0;
  const rows = new Map<number, DelayLevelRow>();
  for (const s of states) {
    const waiting = Math.max(0, s.maxOffset - s.progress);
    let nextDue: number | null = null;
    let oldest: number | null = null;
    if (waiting > 0) {
      try {
        const head = await messageAt(admin, s.addr, SCHEDULE_TOPIC, s.level - 1, s.progress);
        if (head) {
          oldest = head.storeTimestamp;
          nextDue = head.storeTimestamp + s.delayMs;
        }
        // Offsets stored before a time, within [progress, max).
        const before = async (storeTime: number): Promise<number> => {
          if (storeTime <= (oldest ?? 0)) return s.progress;
          const o = await admin.searchOffset(s.addr, SCHEDULE_TOPIC, s.level - 1, storeTime);
          return Math.min(s.maxOffset, Math.max(s.progress, o));
        };
        const edges = [await before(now - s.delayMs)];
        for (const b of buckets) edges.push(await before(b.to - s.delayMs));
        overdue += edges[0]! - s.progress;
        for (let i = 0; i < BUCKETS; i++) buckets[i]!.count += edges[i + 1]! - edges[i]!;
        dueLater += s.maxOffset - edges[BUCKETS]!;
      } catch (error) {
        errors.push(`${s.brokerName} level ${s.level}: ${errorText(error)}`);
      }
    }
    const row = rows.get(s.level) ?? {
      level: s.level, delayMs: s.delayMs, waiting: 0, nextDue: null, oldestStored: null, deliveredPerMinute: null, perBroker: [],
    };
    row.waiting += waiting;
    if (nextDue !== null) row.nextDue = row.nextDue === null ? nextDue : Math.min(row.nextDue, nextDue);
    if (oldest !== null) row.oldestStored = row.oldestStored === null ? oldest : Math.min(row.oldestStored, oldest);
    const rate = ctx.ops.sampler.deliveredPerMinute(connectionId, s.brokerName, s.level);
    if (rate !== null) row.deliveredPerMinute = (row.deliveredPerMinute ?? 0) + rate;
    row.perBroker.push({ brokerName: s.brokerName, waiting, progress: s.progress, maxOffset: s.maxOffset, nextDue });
    rows.set(s.level, row);
  }
  const levels = [...rows.values()].sort((a, b) => a.level - b.level);
  const dues = levels.map((l) => l.nextDue).filter((x): x is number => x !== null);
  return {
    levels,
    totalWaiting: levels.reduce((s, l) => s + l.waiting, 0),
    nextDue: dues.length > 0 ? Math.min(...dues) : null,
    overdue,
    dueNextHour: buckets,
    dueLater,
    sampledAt: now,
    errors,
  };
}

export const delayStats: Handler<'delay:stats'> = async (req, ctx) => {
  ctx.ops.sampler.watch(req.connectionId);
  return computeDelayStats(ctx, req.connectionId);
};

export const delayList: Handler<'delay:list'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const errors: string[] = [];
  const states = (await levelStates(ctx, req.connectionId, errors)).filter((s) => req.level === undefined || s.level === req.level);
  const q = req.search.trim().toLowerCase();
  const rows: DelayWaitingRow[] = [];
  let scanned = 0;
  let partial = false;
  const perLevel = Math.max(1, Math.ceil(req.maxScan / Math.max(1, states.length)));
  for (const s of states) {
    if (s.maxOffset <= s.progress) continue;
    let seen = 0;
    try {
      for await (const page of pullPages(admin, s.addr, SCHEDULE_TOPIC, s.level - 1, s.progress, s.maxOffset)) {
        for (const m of page) {
          seen++;
          const row: DelayWaitingRow = {
            brokerName: s.brokerName, level: s.level, queueOffset: m.queueOffset, msgId: m.msgId, uniqKey: m.properties['UNIQ_KEY'] ?? null,
            realTopic: m.properties['REAL_TOPIC'] ?? null, realQueueId: m.properties['REAL_QID'] !== undefined ? Number(m.properties['REAL_QID']) : null,
            keys: m.properties['KEYS'] ?? null, tags: m.properties['TAGS'] ?? null, storeTimestamp: m.storeTimestamp,
            dueAt: m.storeTimestamp + s.delayMs, bodySize: m.body.length,
          };
          if (q && ![row.realTopic, row.keys, row.uniqKey, row.msgId, row.tags].some((v) => v?.toLowerCase().includes(q))) continue;
          rows.push(row);
        }
        if (seen >= perLevel) {
          partial = partial || page[page.length - 1]!.queueOffset + 1 < s.maxOffset;
          break;
        }
      }
    } catch (error) {
      errors.push(`${s.brokerName} level ${s.level}: ${errorText(error)}`);
    }
    scanned += seen;
  }
  rows.sort((a, b) => a.dueAt - b.dueAt);
  if (rows.length > req.limit) partial = true;
  return { rows: rows.slice(0, req.limit), scanned, partial, errors };
};
