/**
 * Background sampling for the operator pages, every 30 s by default:
 * - each consumer group's lag, committed offsets and broker offsets (GET_CONSUME_STATS on every
 *   master), summed into lag-samples.db (kept 6 h) for the lag-history chart and rates; the
 *   per-queue offsets of the last samples stay in memory for the stuck-queue finder;
 * - each master's delay progress (GET_ALL_DELAY_OFFSET), in memory, for "delivered per minute".
 * A connection is sampled while a page uses it (30 min after its last use); the embedded one
 * always. Sampling uses the same admin commands as the pages, so it works on a real cluster.
 */
import { randomBytes } from 'node:crypto';
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { AdminError } from '../../remoting/admin/mq-admin.js';
import { parseBody } from '../../remoting/admin/mq-admin.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { brokerGroups, errorText, isSystemGroup, mapLimit } from '../cluster-view.js';
import { EMBEDDED_CONNECTION_ID } from '../contract/schemas.js';
import type { ConnectionManager } from '../connection.js';
import type { LocalTable } from './local-db.js';
import type { QueueOffsetSample, RawLagSample } from './lag-math.js';

export const DEFAULT_SAMPLE_INTERVAL_MS = 30_000;
const RETENTION_MS = 6 * 3600_000;
const WATCH_TTL_MS = 30 * 60_000;
const MAX_GROUPS = 200;
const RECENT_SAMPLES = 40;
const DELAY_SAMPLES = 40;

export interface LagSampleDoc extends RawLagSample {
  id: string;
  connectionId: string;
  group: string;
}

export interface GroupSnapshot {
  at: number;
  queues: QueueOffsetSample[];
  lag: number;
  consumed: number;
  produced: number;
}

/** One group's offsets on every master (no topic: every topic it has offsets on). */
export async function groupOffsets(admin: MQAdmin, group: string): Promise<GroupSnapshot> {
  const masters = (await brokerGroups(admin)).filter((g) => g.master);
  const queues: QueueOffsetSample[] = [];
  await Promise.all(masters.map(async (m) => {
    try {
      const s = await admin.brokerConsumeStats(m.master!, group);
      for (const q of s.queues) {
        queues.push({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId, brokerOffset: q.brokerOffset, consumerOffset: q.consumerOffset });
      }
    } catch (error) {
      if (!(error instanceof AdminError && error.code === ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST)) throw error;
    }
  }));
  queues.sort((a, b) => a.topic.localeCompare(b.topic) || a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  let lag = 0;
  let consumed = 0;
  let produced = 0;
  for (const q of queues) {
    lag += Math.max(0, q.brokerOffset - q.consumerOffset);
    consumed += q.consumerOffset;
    produced += q.brokerOffset;
  }
  return { at: Date.now(), queues, lag, consumed, produced };
}

/** GET_ALL_DELAY_OFFSET: level → next SCHEDULE_TOPIC_XXXX offset the scheduler will deliver. */
export async function delayOffsets(admin: MQAdmin, addr: string): Promise<Map<number, number>> {
  const res = await admin.call(addr, RequestCode.GET_ALL_DELAY_OFFSET);
  const body = parseBody(res) as { offsetTable?: Record<string, number> };
  const out = new Map<number, number>();
  for (const [k, v] of Object.entries(body.offsetTable ?? {})) {
    const level = Number(k);
    if (Number.isInteger(level) && Number.isFinite(Number(v))) out.set(level, Number(v));
  }
  return out;
}

export class OpsSampler {
  private readonly watched = new Map<string, number>();
  private readonly recent = new Map<string, GroupSnapshot[]>();
  private readonly delay = new Map<string, Array<{ at: number; offsets: Map<number, number> }>>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly table: LocalTable<LagSampleDoc>, private readonly connections: ConnectionManager,
    readonly intervalMs: number, private readonly log: (line: string) => void) {}

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.sampleAll().catch((e: unknown) => this.log(`[sampler] ${errorText(e)}`)).finally(() => {
        this.running = null;
      });
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref?.();
    };
    this.timer = setTimeout(tick, Math.min(this.intervalMs, 2000));
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  watch(connectionId: string): void {
    this.watched.set(connectionId, Date.now());
  }

  private watchedNow(): string[] {
    const now = Date.now();
    const out: string[] = [];
    for (const [id, at] of this.watched) {
      if (now - at > WATCH_TTL_MS) this.watched.delete(id);
      else out.push(id);
    }
    if (this.connections.embeddedNamesrvAddr && !out.includes(EMBEDDED_CONNECTION_ID)) out.push(EMBEDDED_CONNECTION_ID);
    return out;
  }

  async sampleAll(): Promise<void> {
    for (const connectionId of this.watchedNow()) {
      if (this.stopped) return;
      try {
        await this.sampleConnection(connectionId);
      } catch (error) {
        this.log(`[sampler] ${connectionId}: ${errorText(error)}`);
      }
    }
    await this.table.remove({ at: { $lt: Date.now() - RETENTION_MS } }).catch(() => undefined);
  }

  async sampleConnection(connectionId: string): Promise<void> {
    const admin = this.connections.get(connectionId).admin;
    const masters = (await brokerGroups(admin)).filter((g) => g.master);
    const names = new Set<string>();
    for (const m of masters) {
      try {
        for (const name of Object.keys(await admin.allSubscriptionGroups(m.master!))) if (!isSystemGroup(name)) names.add(name);
      } catch {
        // that broker is down this round
      }
      try {
        this.recordDelay(connectionId, m.brokerName, await delayOffsets(admin, m.master!));
      } catch {
        // no delay progress from this broker
      }
    }
    // Groups deleted since (a migration's temporary group) leave the badges and the finder.
    for (const key of [...this.recent.keys()]) {
      if (key.startsWith(`${connectionId}|`) && !names.has(key.slice(connectionId.length + 1))) this.recent.delete(key);
    }
    await mapLimit([...names].sort().slice(0, MAX_GROUPS), 4, async (group) => {
      if (this.stopped) return;
      try {
        await this.sampleGroup(connectionId, group, admin);
      } catch {
        // skipped this round
      }
    });
  }

  /** Samples one group now and records it. */
  async sampleGroup(connectionId: string, group: string, admin = this.connections.get(connectionId).admin): Promise<GroupSnapshot> {
    const snap = await groupOffsets(admin, group);
    const key = `${connectionId}|${group}`;
    const list = this.recent.get(key) ?? [];
    list.push(snap);
    if (list.length > RECENT_SAMPLES) list.splice(0, list.length - RECENT_SAMPLES);
    this.recent.set(key, list);
    await this.table.putMany([{
      id: `${snap.at.toString(36)}${randomBytes(3).toString('hex')}`, connectionId, group, at: snap.at, lag: snap.lag,
      consumed: snap.consumed, produced: snap.produced,
    }]).catch(() => undefined);
    return snap;
  }

  /** The last sample of a group, taking one when none is fresher than half the interval. */
  async freshGroup(connectionId: string, group: string): Promise<GroupSnapshot> {
    const list = this.recent.get(`${connectionId}|${group}`);
    const last = list?.[list.length - 1];
    if (last && Date.now() - last.at < this.intervalMs / 2) return last;
    return this.sampleGroup(connectionId, group);
  }

  recentQueues(connectionId: string, group: string): GroupSnapshot[] {
    return this.recent.get(`${connectionId}|${group}`) ?? [];
  }

  latestOfConnection(connectionId: string): Array<{ group: string; snapshot: GroupSnapshot }> {
    const out: Array<{ group: string; snapshot: GroupSnapshot }> = [];
    for (const [key, list] of this.recent) {
      const [conn, group] = [key.slice(0, key.indexOf('|')), key.slice(key.indexOf('|') + 1)];
      const last = list[list.length - 1];
      if (conn === connectionId && last && Date.now() - last.at < this.intervalMs * 3) out.push({ group, snapshot: last });
    }
    return out;
  }

  async history(connectionId: string, group: string, sinceMs: number): Promise<RawLagSample[]> {
    const docs = await this.table.find({ connectionId, group, at: { $gte: Date.now() - sinceMs } }, { at: 1 });
    return docs.map((d) => ({ at: d.at, lag: d.lag, consumed: d.consumed, produced: d.produced }));
  }

  recordDelay(connectionId: string, brokerName: string, offsets: Map<number, number>): void {
    const key = `${connectionId}|${brokerName}`;
    const list = this.delay.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && Date.now() - last.at < 1000) return;
    list.push({ at: Date.now(), offsets });
    if (list.length > DELAY_SAMPLES) list.splice(0, list.length - DELAY_SAMPLES);
    this.delay.set(key, list);
  }

  /** Messages delivered per minute for a level, from the oldest sample of the last 10 minutes to now. */
  deliveredPerMinute(connectionId: string, brokerName: string, level: number): number | null {
    const list = this.delay.get(`${connectionId}|${brokerName}`) ?? [];
    const last = list[list.length - 1];
    if (!last) return null;
    const first = list.find((s) => s.at >= last.at - 10 * 60_000 && last.at - s.at >= 5000);
    if (!first) return null;
    const a = first.offsets.get(level);
    const b = last.offsets.get(level);
    if (a === undefined || b === undefined || b < a) return null;
    return ((b - a) * 60_000) / (last.at - first.at);
  }
}
