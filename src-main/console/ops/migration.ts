/**
 * Backlog migration through a temporary topic (remedy B), as a resumable job in NeDB
 * (migrations.db). Steps (migration-machine.ts):
 * 1. snapshotting: per queue of the topic, start = the group's committed offset, end = the max
 *    offset now (GET_CONSUME_STATS). Messages arriving later stay for the group's own consumers.
 * 2. creating-topic: `<topic>-mig-<id>` with more queues on every master serving the topic, and
 *    group `<group>-mig-<id>` starting at offset 0 of each of its queues.
 * 3. forwarding: each source queue in units of UNIT messages: the unit is written ahead to the job
 *    (from, to and the temporary queues' max offsets), its messages are pulled (TOOLS_CONSUMER) and
 *    sent to the temporary topic with property MQDESK_MIG_SRC = `<job>:<broker>:<queue>:<offset>`,
 *    and only once all are stored is the group's offset on that queue committed
 *    (UPDATE_CONSUMER_OFFSET) and the unit closed. A unit left open by a stop is recovered by
 *    reading the temporary queues past the recorded max offsets: what is there is not sent again,
 *    so every message is forwarded exactly once across restarts.
 * 4. draining: the temporary group's lag is watched; extra consumers of that group drain it.
 * 5. verifying: the temporary topic is read back and every source offset counted (exactly once,
 *    or the missing and duplicated ones listed).
 * 6. restoring: the temporary group and topic are deleted; the group stays at the migrated offsets.
 * Cancel puts the group's offsets back to the snapshot and deletes the temporary topic and group.
 */
import { randomBytes } from 'node:crypto';
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { AdminError } from '../../remoting/admin/mq-admin.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { RequestCode } from '../../remoting/request-code.js';
import { copySysFlag, copyableProperties, MIGRATION_SOURCE_PROPERTY } from './message-copy.js';
import { ConsoleError } from '../contract/errors.js';
import type { MigrationCheck, MigrationJob, MigrationState } from '../contract/ops-dto.js';
import type { ConnectionManager } from '../connection.js';
import { errorText } from '../cluster-view.js';
import type { LocalTable } from './local-db.js';
import { allowedActions, applyAction, failed, isActive, stepDone, type MigrationAction } from './migration-machine.js';
import {
  InFlight, RateLimiter, TopicSender, pullPages, routeMasters, routeOrNull, updateConsumerOffset,
} from './cluster-ops.js';

export const MIGRATION_PRODUCER_GROUP = 'MQDESK_MIGRATION_PRODUCER';
/** Messages per write-ahead unit. */
const UNIT = 512;
const QUEUES_IN_PARALLEL = 4;
const SENDS_IN_FLIGHT = 64;
const DRAIN_POLL_MS = 2000;
const EMIT_EVERY_MS = 250;
const LOG_LIMIT = 60;

interface Inflight {
  from: number;
  to: number;
  /** Max offset of each temporary queue ("broker|queueId") when the unit started. */
  tempMax: Record<string, number>;
}

export interface MigrationDoc extends Omit<MigrationJob, 'actions'> {
  requestId: string;
  inflight: Record<string, Inflight>;
}

export interface MigrationStart {
  connectionId: string;
  group: string;
  topic: string;
  tempQueuesPerBroker: number;
  ratePerSecond: number;
  autoRestore: boolean;
  requestId: string;
}

const queueKey = (brokerName: string, queueId: number): string => `${brokerName}|${queueId}`;

export class MigrationManager {
  private readonly runners = new Map<string, { stop: { aborted: boolean }; done: Promise<void> }>();
  private readonly jobs = new Map<string, MigrationDoc>();
  private readonly lastEmit = new Map<string, number>();
  private stopping = false;

  constructor(private readonly table: LocalTable<MigrationDoc>, private readonly connections: ConnectionManager,
    private readonly emit: (job: MigrationJob) => void, private readonly audit: (action: 'migration-start' | 'migration-cancel' | 'migration-restore',
      connectionId: string, target: string, detail: string) => Promise<void>, private readonly log: (line: string) => void) {}

  /** Loads every job and resumes those that were running (not paused) when the console stopped. */
  async load(): Promise<void> {
    for (const job of await this.table.find({})) {
      this.jobs.set(job.id, job);
      if (isActive(job.state) && !job.paused) {
        this.note(job, 'resumed after a restart of the console');
        this.kick(job.id);
      }
    }
  }

  async start(req: MigrationStart): Promise<MigrationJob> {
    const existing = [...this.jobs.values()].find((j) => j.requestId === req.requestId);
    if (existing) return publicJob(existing);
    const running = [...this.jobs.values()].find((j) => j.connectionId === req.connectionId && j.group === req.group && j.topic === req.topic
      && (isActive(j.state) || j.state === 'failed'));
    if (running) throw new ConsoleError('CONFLICT', `A migration of ${req.group} on ${req.topic} is already ${running.state} (job ${running.id})`);
    const short = randomBytes(3).toString('hex');
    const id = `m${Date.now().toString(36)}${short}`;
    const job: MigrationDoc = {
      id, requestId: req.requestId, connectionId: req.connectionId, group: req.group, topic: req.topic,
      tempTopic: `${req.topic}-mig-${short}`, tempGroup: `${req.group}-mig-${short}`, tempQueuesPerBroker: req.tempQueuesPerBroker,
      state: 'snapshotting', paused: false, failedIn: null, createdAt: Date.now(), updatedAt: Date.now(), queues: [], total: 0,
      forwarded: 0, rate: 0, rateLimit: req.ratePerSecond, tempLag: null, drainedAt: null, autoRestore: req.autoRestore, check: null,
      error: null, log: [], inflight: {},
    };
    this.note(job, `started: forward the backlog of ${req.group} on ${req.topic} to ${job.tempTopic}`);
    this.jobs.set(id, job);
    await this.save(job, true);
    await this.audit('migration-start', req.connectionId, `${req.group}@${req.topic}`, `job ${id}, temporary topic ${job.tempTopic}`);
    this.kick(id);
    return publicJob(job);
  }

  list(): MigrationJob[] {
    return [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt).map(publicJob);
  }

  get(id: string): MigrationJob {
    return publicJob(this.doc(id));
  }

  async control(id: string, action: MigrationAction): Promise<MigrationJob> {
    const job = this.doc(id);
    const outcome = applyAction(job, action);
    if (!outcome.ok) throw new ConsoleError('CONFLICT', `Cannot ${action}: ${outcome.reason}`);
    // A pause takes effect between units; cancel and restore wait for the runner to let go first.
    if (action === 'cancel' || action === 'restore' || action === 'pause') await this.halt(id);
    Object.assign(job, outcome.patch);
    this.note(job, action === 'cancel' ? 'cancel requested: offsets go back to the snapshot' : `${action}`);
    await this.save(job, true);
    if (action === 'cancel') await this.audit('migration-cancel', job.connectionId, `${job.group}@${job.topic}`, `job ${id}`);
    if (action === 'restore') await this.audit('migration-restore', job.connectionId, `${job.group}@${job.topic}`, `job ${id}`);
    if (!job.paused && (isActive(job.state))) this.kick(id);
    return publicJob(job);
  }

  /** Stops every runner (the console is closing); their jobs resume on the next load. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.runners.values()) r.stop.aborted = true;
    await Promise.all([...this.runners.values()].map((r) => r.done));
  }

  /** Waits until a job reaches one of the states (tests). */
  async waitFor(id: string, states: MigrationState[], timeoutMs: number): Promise<MigrationJob> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = this.doc(id);
      if (states.includes(job.state)) return publicJob(job);
      if (Date.now() > deadline) throw new Error(`migration ${id} is ${job.state}, not ${states.join('/')}, after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private doc(id: string): MigrationDoc {
    const job = this.jobs.get(id);
    if (!job) throw new ConsoleError('NOT_FOUND', `No migration job "${id}"`);
    return job;
  }

  private async halt(id: string): Promise<void> {
    const r = this.runners.get(id);
    if (!r) return;
    r.stop.aborted = true;
    await r.done;
  }

  private kick(id: string): void {
    if (this.stopping || this.runners.has(id)) return;
    const stop = { aborted: false };
    const done = this.loop(id, stop).finally(() => this.runners.delete(id));
    this.runners.set(id, { stop, done });
  }

  private async loop(id: string, stop: { aborted: boolean }): Promise<void> {
    for (;;) {
      const job = this.jobs.get(id);
      if (!job || stop.aborted || job.paused || !isActive(job.state)) return;
      const before = job.state;
      try {
        await this.step(job, stop);
      } catch (error) {
        if (stop.aborted) return;
        Object.assign(job, failed(before, errorText(error)));
        this.note(job, `failed in ${before}: ${errorText(error)}`);
        await this.save(job, true);
        return;
      }
      if (job.state === before && !stop.aborted) await sleep(DRAIN_POLL_MS, stop);
    }
  }

  private admin(job: MigrationDoc): MQAdmin {
    return this.connections.get(job.connectionId).admin;
  }

  private async step(job: MigrationDoc, stop: { aborted: boolean }): Promise<void> {
    const admin = this.admin(job);
    switch (job.state) {
      case 'snapshotting': {
        const route = await routeOrNull(admin, job.topic);
        if (!route) throw new ConsoleError('NOT_FOUND', `Topic "${job.topic}" does not exist`);
        const queues: MigrationDoc['queues'] = [];
        for (const b of routeMasters(route)) {
          const stats = await admin.brokerConsumeStats(b.addr, job.group, job.topic).catch((e: unknown) => {
            if (e instanceof AdminError && e.code === ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST) return { queues: [], consumeTps: null };
            throw e;
          });
          for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
            const q = stats.queues.find((x) => x.queueId === queueId && x.topic === job.topic);
            const min = await admin.minOffset(b.addr, job.topic, queueId);
            const end = q?.brokerOffset ?? await admin.maxOffset(b.addr, job.topic, queueId);
            const start = Math.min(end, Math.max(min, q?.consumerOffset ?? min));
            queues.push({ brokerName: b.brokerName, queueId, startOffset: start, endOffset: end, cursor: start });
          }
        }
        job.queues = queues;
        job.total = queues.reduce((s, q) => s + (q.endOffset - q.startOffset), 0);
        job.state = stepDone(job.state);
        this.note(job, `snapshot: ${job.total} messages on ${queues.length} queues`);
        await this.save(job, true);
        return;
      }
      case 'creating-topic': {
        const route = await routeOrNull(admin, job.topic);
        const brokers = routeMasters(route);
        if (brokers.length === 0) throw new ConsoleError('UNREACHABLE', `No master of "${job.topic}" is up`);
        for (const b of brokers) {
          await admin.call(b.addr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
            topic: job.tempTopic, defaultTopic: 'TBW102', readQueueNums: job.tempQueuesPerBroker, writeQueueNums: job.tempQueuesPerBroker,
            perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
          });
          await admin.upsertGroup(b.addr, {
            groupName: job.tempGroup, consumeEnable: true, consumeFromMinEnable: true, consumeBroadcastEnable: false,
            retryQueueNums: 1, retryMaxTimes: 16, brokerId: 0, whichBrokerWhenConsumeSlowly: 1, notifyConsumerIdsChangedEnable: true,
          });
        }
        // The brokers register the topic with the NameServer right away; wait until the route shows every queue.
        const deadline = Date.now() + 15_000;
        for (;;) {
          const r = await routeOrNull(admin, job.tempTopic);
          if (r && routeMasters(r).length >= brokers.length) break;
          if (Date.now() > deadline) throw new ConsoleError('TIMEOUT', `The NameServer does not show ${job.tempTopic} yet`);
          await sleep(200, stop);
          if (stop.aborted) return;
        }
        // Its consumers start from the first message of each temporary queue.
        for (const b of brokers) {
          for (let q = 0; q < job.tempQueuesPerBroker; q++) await updateConsumerOffset(admin, b.addr, job.tempGroup, job.tempTopic, q, 0);
        }
        job.state = stepDone(job.state);
        this.note(job, `created ${job.tempTopic} (${job.tempQueuesPerBroker} queues on each of ${brokers.length} brokers) and group ${job.tempGroup}`);
        await this.save(job, true);
        return;
      }
      case 'forwarding':
        await this.forward(job, admin, stop);
        if (stop.aborted || job.paused) return;
        if (job.queues.every((q) => q.cursor >= q.endOffset) && Object.keys(job.inflight).length === 0) {
          job.state = stepDone(job.state);
          this.note(job, `forwarded ${job.forwarded} messages; the group's offsets are at the snapshot. Point consumers of ${job.tempGroup} at ${job.tempTopic}`);
          await this.save(job, true);
        }
        return;
      case 'draining': {
        const lag = await this.tempLag(job, admin);
        job.tempLag = lag;
        if (lag === 0 && job.drainedAt === null) {
          job.drainedAt = Date.now();
          this.note(job, `${job.tempTopic} is drained`);
        }
        if (lag !== 0) job.drainedAt = null;
        if (lag === 0 && job.autoRestore) job.state = stepDone(job.state);
        await this.save(job, job.state !== 'draining');
        return;
      }
      case 'verifying': {
        const check = await this.verify(job, admin, stop);
        if (stop.aborted) return;
        job.check = check;
        if (!check.ok) {
          throw new ConsoleError('CONFLICT', `count check: ${check.missing} missing, ${check.duplicates} duplicated (the temporary topic is kept)`);
        }
        job.state = stepDone(job.state);
        this.note(job, `count check: all ${check.expected} messages forwarded exactly once`);
        await this.save(job, true);
        return;
      }
      case 'restoring':
        await this.dropTemp(job, admin);
        job.state = stepDone(job.state);
        this.note(job, `restored: ${job.tempTopic} and ${job.tempGroup} deleted; ${job.group} stays at the migrated offsets`);
        await this.save(job, true);
        return;
      case 'cancelling': {
        const route = await routeOrNull(admin, job.topic);
        const addrOf = new Map(routeMasters(route).map((b) => [b.brokerName, b.addr]));
        for (const q of job.queues) {
          if (q.cursor === q.startOffset && !job.inflight[queueKey(q.brokerName, q.queueId)]) continue;
          const addr = addrOf.get(q.brokerName);
          if (!addr) throw new ConsoleError('UNREACHABLE', `Broker ${q.brokerName} has no master up to put its offsets back`);
          await updateConsumerOffset(admin, addr, job.group, job.topic, q.queueId, q.startOffset);
          q.cursor = q.startOffset;
        }
        job.inflight = {};
        await this.dropTemp(job, admin);
        job.state = stepDone(job.state);
        this.note(job, `cancelled: ${job.group} is back at the snapshot offsets; ${job.tempTopic} deleted`);
        await this.save(job, true);
        return;
      }
      case 'done':
      case 'cancelled':
      case 'failed':
        return;
      default: {
        const never: never = job.state;
        throw new Error(`unknown state ${String(never)}`);
      }
    }
  }

  private async tempLag(job: MigrationDoc, admin: MQAdmin): Promise<number | null> {
    const route = await routeOrNull(admin, job.tempTopic);
    if (!route) return null;
    let lag = 0;
    for (const b of routeMasters(route)) {
      const s = await admin.brokerConsumeStats(b.addr, job.tempGroup, job.tempTopic).catch(() => null);
      if (!s) return null;
      for (const q of s.queues) lag += Math.max(0, q.brokerOffset - q.consumerOffset);
    }
    return lag;
  }

  private async tempQueues(admin: MQAdmin, job: MigrationDoc): Promise<Array<{ brokerName: string; addr: string; queueId: number }>> {
    const out: Array<{ brokerName: string; addr: string; queueId: number }> = [];
    for (const b of routeMasters(await routeOrNull(admin, job.tempTopic))) {
      for (let q = 0; q < b.readQueueNums; q++) out.push({ brokerName: b.brokerName, addr: b.addr, queueId: q });
    }
    return out;
  }

  /** Max offset of every temporary queue (GET_TOPIC_STATS_INFO, one call per broker). */
  private async tempMaxOffsets(admin: MQAdmin, topic: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const q of await admin.topicStats(topic)) out[queueKey(q.brokerName, q.queueId)] = q.maxOffset;
    return out;
  }

  private async forward(job: MigrationDoc, admin: MQAdmin, stop: { aborted: boolean }): Promise<void> {
    const sourceRoute = await routeOrNull(admin, job.topic);
    const addrOf = new Map(routeMasters(sourceRoute).map((b) => [b.brokerName, b.addr]));
    const temp = await this.tempQueues(admin, job);
    if (temp.length === 0) throw new ConsoleError('NOT_FOUND', `The temporary topic ${job.tempTopic} is gone`);
    const sender = new TopicSender(admin, MIGRATION_PRODUCER_GROUP);
    const limiter = new RateLimiter(job.rateLimit);
    const startedAt = Date.now();
    const forwardedAtStart = job.forwarded;
    let counter = 0;
    const pending = job.queues.filter((q) => q.cursor < q.endOffset || job.inflight[queueKey(q.brokerName, q.queueId)]);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length && !stop.aborted && !job.paused) {
        const q = pending[next++]!;
        const addr = addrOf.get(q.brokerName);
        if (!addr) throw new ConsoleError('UNREACHABLE', `Broker ${q.brokerName} has no master up`);
        const key = queueKey(q.brokerName, q.queueId);
        while ((q.cursor < q.endOffset || job.inflight[key]) && !stop.aborted && !job.paused) {
          let unit = job.inflight[key];
          let already = new Set<number>();
          if (unit) {
            already = await this.recoverUnit(job, admin, temp, q.brokerName, q.queueId, unit);
            if (already.size > 0) this.note(job, `recovered ${already.size} messages of ${key} [${unit.from}, ${unit.to}) already stored before the stop`);
          } else {
            unit = { from: q.cursor, to: Math.min(q.endOffset, q.cursor + UNIT), tempMax: await this.tempMaxOffsets(admin, job.tempTopic) };
            job.inflight[key] = unit;
            await this.save(job, false);
          }
          const pool = new InFlight(SENDS_IN_FLIGHT);
          let failure: unknown = null;
          let sentInUnit = 0;
          for await (const page of pullPages(admin, addr, job.topic, q.queueId, unit.from, unit.to)) {
            for (const m of page) {
              if (stop.aborted || failure) break;
              if (already.has(m.queueOffset)) continue;
              await limiter.take(stop);
              const properties = copyableProperties(m);
              properties[MIGRATION_SOURCE_PROPERTY] = `${job.id}:${q.brokerName}:${q.queueId}:${m.queueOffset}`;
              const target = temp[counter++ % temp.length]!;
              await pool.run(async () => {
                try {
                  await sender.send({ topic: job.tempTopic, properties, body: m.body, flag: m.flag, sysFlag: copySysFlag(m.sysFlag), queue: target });
                  sentInUnit++;
                } catch (error) {
                  failure = failure ?? error;
                }
              });
            }
            if (stop.aborted || failure) break;
          }
          await pool.drain();
          if (failure) throw failure;
          if (stop.aborted) return; // the unit stays written ahead; the next run recovers it
          // Every message of the unit is stored: now the group may move past it.
          await updateConsumerOffset(admin, addr, job.group, job.topic, q.queueId, unit.to);
          q.cursor = unit.to;
          delete job.inflight[key];
          job.forwarded += sentInUnit + already.size;
          job.rate = Math.round(((job.forwarded - forwardedAtStart) * 1000) / Math.max(1, Date.now() - startedAt));
          await this.save(job, false);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(QUEUES_IN_PARALLEL, pending.length) }, worker));
  }

  /** Source offsets of an open unit already stored in the temporary topic (past the recorded max offsets). */
  private async recoverUnit(job: MigrationDoc, admin: MQAdmin, temp: Array<{ brokerName: string; addr: string; queueId: number }>,
    brokerName: string, queueId: number, unit: Inflight): Promise<Set<number>> {
    const prefix = `${job.id}:${brokerName}:${queueId}:`;
    const found = new Set<number>();
    for (const t of temp) {
      const from = unit.tempMax[queueKey(t.brokerName, t.queueId)] ?? 0;
      for await (const page of pullPages(admin, t.addr, job.tempTopic, t.queueId, from, null)) {
        for (const m of page) {
          const src = m.properties[MIGRATION_SOURCE_PROPERTY];
          if (!src?.startsWith(prefix)) continue;
          const offset = Number(src.slice(prefix.length));
          if (offset >= unit.from && offset < unit.to) found.add(offset);
        }
      }
    }
    return found;
  }

  /** Reads the whole temporary topic back and counts each source offset. */
  private async verify(job: MigrationDoc, admin: MQAdmin, stop: { aborted: boolean }): Promise<MigrationCheck> {
    const counts = new Map<string, Uint8Array>();
    for (const q of job.queues) counts.set(queueKey(q.brokerName, q.queueId), new Uint8Array(Math.max(0, q.endOffset - q.startOffset)));
    const prefix = `${job.id}:`;
    let extra = 0;
    for (const t of await this.tempQueues(admin, job)) {
      for await (const page of pullPages(admin, t.addr, job.tempTopic, t.queueId, 0, null)) {
        if (stop.aborted) return emptyCheck();
        for (const m of page) {
          const src = m.properties[MIGRATION_SOURCE_PROPERTY];
          if (!src?.startsWith(prefix)) continue;
          const [, brokerName, queueId, offset] = src.split(':');
          const q = job.queues.find((x) => x.brokerName === brokerName && x.queueId === Number(queueId));
          const arr = q ? counts.get(queueKey(q.brokerName, q.queueId)) : undefined;
          const i = q ? Number(offset) - q.startOffset : -1;
          if (!arr || i < 0 || i >= arr.length) {
            extra++;
            continue;
          }
          arr[i] = Math.min(255, arr[i]! + 1);
        }
      }
    }
    let forwarded = 0;
    let duplicates = extra;
    let missing = 0;
    const missingList: string[] = [];
    const duplicateList: string[] = [];
    for (const q of job.queues) {
      const arr = counts.get(queueKey(q.brokerName, q.queueId))!;
      for (let i = 0; i < arr.length; i++) {
        const c = arr[i]!;
        const label = `${q.brokerName}/${q.queueId}@${q.startOffset + i}`;
        if (c === 0) {
          missing++;
          if (missingList.length < 100) missingList.push(label);
        } else {
          forwarded++;
          if (c > 1) {
            duplicates += c - 1;
            if (duplicateList.length < 100) duplicateList.push(`${label} ×${c}`);
          }
        }
      }
    }
    const expected = job.queues.reduce((s, q) => s + (q.endOffset - q.startOffset), 0);
    return { expected, forwarded, duplicates, missing, missingList, duplicateList, ok: missing === 0 && duplicates === 0 };
  }

  private async dropTemp(job: MigrationDoc, admin: MQAdmin): Promise<void> {
    const route = await routeOrNull(admin, job.tempTopic);
    const masters = (await admin.masterAddrs()).map((m) => m.addr);
    for (const addr of masters) {
      await admin.deleteGroup(addr, job.tempGroup).catch(() => undefined);
    }
    if (route) {
      for (const b of routeMasters(route)) await admin.call(b.addr, RequestCode.DELETE_TOPIC_IN_BROKER, { topic: job.tempTopic });
      for (const ns of admin.namesrvAddrs) await admin.call(ns, RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic: job.tempTopic });
    }
  }

  private note(job: MigrationDoc, text: string): void {
    job.log.push({ at: Date.now(), text });
    if (job.log.length > LOG_LIMIT) job.log.splice(0, job.log.length - LOG_LIMIT);
  }

  private async save(job: MigrationDoc, emitNow: boolean): Promise<void> {
    job.updatedAt = Date.now();
    await this.table.put(structuredClone(job));
    const last = this.lastEmit.get(job.id) ?? 0;
    if (emitNow || Date.now() - last >= EMIT_EVERY_MS) {
      this.lastEmit.set(job.id, Date.now());
      this.emit(publicJob(job));
    }
  }
}

function publicJob(job: MigrationDoc): MigrationJob {
  const { requestId, inflight, ...rest } = job;
  void requestId;
  void inflight;
  return { ...structuredClone(rest), actions: allowedActions(job) };
}

function emptyCheck(): MigrationCheck {
  return { expected: 0, forwarded: 0, duplicates: 0, missing: 0, missingList: [], duplicateList: [], ok: false };
}

function sleep(ms: number, stop: { aborted: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = (): void => {
      if (stop.aborted || Date.now() - started >= ms) resolve();
      else setTimeout(tick, Math.min(100, ms));
    };
    tick();
  });
}
