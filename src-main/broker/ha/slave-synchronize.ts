/**
 * A slave copies its master's metadata over remoting every `intervalMs` (10 s), as RocketMQ's
 * broker/slave/SlaveSynchronize.java does: topic configs (GET_ALL_TOPIC_CONFIG 21), consumer
 * offsets (GET_ALL_CONSUMER_OFFSET 43), delay offsets (GET_ALL_DELAY_OFFSET 45) and
 * subscription groups (GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201). So a promoted slave starts with
 * the master's topics, groups and offsets, at most one interval old.
 *
 * Topics: the master's entries are copied when its dataVersion changed; a topic that disappears
 * from the master's table is removed here too (Java clears and puts all, which would also drop
 * the retry topics a slave creates for consumers' heartbeats); only entries that differ are written. Groups are upserted. Offsets are merged the
 * Java way (the master's value per queue wins). Delay offsets go to the owner's callback (the
 * schedule service's file); they are kept as the master's table, level → offset.
 */
import type { RemotingClient } from '../../remoting/remoting-client.js';
import { createRequest } from '../../remoting/remoting-command.js';
import { RequestCode } from '../../remoting/request-code.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { parseFastjson } from '../../remoting/fastjson.js';
import type { Logger } from '../../remoting/logger.js';
import type { TopicConfigManager } from '../metadata/topic-config-manager.js';
import type { SubscriptionGroupManager, SubscriptionGroupConfig } from '../metadata/subscription-group-manager.js';
import type { ConsumerOffsetManager } from '../metadata/consumer-offset-manager.js';
import type { TopicConfig } from '../namesrv/route-types.js';

export interface SlaveSynchronizeOptions {
  client: RemotingClient;
  topics: TopicConfigManager;
  groups: SubscriptionGroupManager;
  offsets: ConsumerOffsetManager;
  logger: Logger;
  intervalMs: number;
  onDelayOffsets?: (table: Record<string, number>) => void;
}

export interface SlaveSyncStatus {
  masterAddr: string | null;
  lastSyncAt: number;
  lastError: string | null;
  topics: number;
  groups: number;
  offsetKeys: number;
}

export class SlaveSynchronize {
  private masterAddr: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastTopicVersion = '';
  private masterTopics = new Set<string>();
  private lastSyncAt = 0;
  private lastError: string | null = null;
  private counts = { topics: 0, groups: 0, offsetKeys: 0 };

  constructor(private readonly opts: SlaveSynchronizeOptions) {}

  setMasterAddr(addr: string | null): void {
    if (addr === this.masterAddr) return;
    this.masterAddr = addr;
    this.lastTopicVersion = '';
    if (addr && this.timer) void this.syncAll();
  }

  start(): void {
    this.timer = setInterval(() => void this.syncAll(), this.opts.intervalMs);
    this.timer.unref();
    void this.syncAll();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  status(): SlaveSyncStatus {
    return { masterAddr: this.masterAddr, lastSyncAt: this.lastSyncAt, lastError: this.lastError, ...this.counts };
  }

  /** One round of all four copies (skipped without a master, or while one is running). */
  syncAll(): Promise<void> {
    if (this.running) return this.running;
    const addr = this.masterAddr;
    if (!addr) return Promise.resolve();
    this.running = (async () => {
      try {
        await this.syncTopics(addr);
        await this.syncOffsets(addr);
        await this.syncDelayOffsets(addr);
        await this.syncGroups(addr);
        this.lastSyncAt = Date.now();
        this.lastError = null;
      } catch (e) {
        const message = (e as Error).message;
        // Once per distinct problem: a dead master would otherwise log every interval.
        if (message !== this.lastError) this.opts.logger.warn(`slave synchronize from ${addr} failed: ${message}`);
        this.lastError = message;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async fetch(addr: string, code: number): Promise<Record<string, unknown>> {
    const res = await this.opts.client.invoke(addr, createRequest(code), 5000);
    if (res.code !== ResponseCode.SUCCESS) throw new Error(`request ${code}: ${res.code} ${res.remark ?? ''}`);
    const parsed = res.body && res.body.length > 0 ? parseFastjson(res.body.toString('utf8')) : {};
    return (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  }

  private async syncTopics(addr: string): Promise<void> {
    const body = await this.fetch(addr, RequestCode.GET_ALL_TOPIC_CONFIG);
    const version = JSON.stringify(body.dataVersion ?? null);
    const table = (body.topicConfigTable ?? {}) as Record<string, TopicConfig>;
    this.counts.topics = Object.keys(table).length;
    if (version === this.lastTopicVersion) return;
    const { topics } = this.opts;
    for (const [name, config] of Object.entries(table)) {
      const next: TopicConfig = { ...config, topicName: config.topicName || name };
      const current = topics.get(next.topicName);
      if (!current || canonical(current) !== canonical(next)) topics.upsert(next);
    }
    // Topics the master had and no longer has were deleted there. Unlike Java (clear + putAll),
    // topics this slave made itself (retry topics from consumers' heartbeats while the master
    // was away) stay: a promoted slave needs them routed.
    for (const t of topics.all()) if (this.masterTopics.has(t.topicName) && !(t.topicName in table)) topics.remove(t.topicName);
    this.masterTopics = new Set(Object.keys(table));
    this.lastTopicVersion = version;
  }

  private async syncOffsets(addr: string): Promise<void> {
    const body = await this.fetch(addr, RequestCode.GET_ALL_CONSUMER_OFFSET);
    const table = (body.offsetTable ?? {}) as Record<string, Record<string, number>>;
    const { offsets } = this.opts;
    let keys = 0;
    for (const [key, queues] of Object.entries(table)) {
      const at = key.lastIndexOf('@');
      if (at <= 0 || !queues || typeof queues !== 'object') continue;
      keys++;
      const topic = key.slice(0, at);
      const group = key.slice(at + 1);
      for (const [q, offset] of Object.entries(queues)) {
        const queueId = Number(q);
        const value = Number(offset);
        if (!Number.isInteger(queueId) || !Number.isSafeInteger(value)) continue;
        if (offsets.query(group, topic, queueId) !== value) offsets.commit(group, topic, queueId, value);
      }
    }
    this.counts.offsetKeys = keys;
  }

  private async syncDelayOffsets(addr: string): Promise<void> {
    const body = await this.fetch(addr, RequestCode.GET_ALL_DELAY_OFFSET);
    const table = (body.offsetTable ?? {}) as Record<string, unknown>;
    const out: Record<string, number> = {};
    for (const [level, offset] of Object.entries(table)) {
      const v = Number(offset);
      if (Number.isSafeInteger(v)) out[level] = v;
    }
    this.opts.onDelayOffsets?.(out);
  }

  private async syncGroups(addr: string): Promise<void> {
    const body = await this.fetch(addr, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
    const table = (body.subscriptionGroupTable ?? {}) as Record<string, SubscriptionGroupConfig>;
    this.counts.groups = Object.keys(table).length;
    const { groups } = this.opts;
    for (const [name, config] of Object.entries(table)) {
      const next = { ...config, groupName: config.groupName || name };
      const current = groups.get(next.groupName);
      if (!current || canonical({ ...current, ...next }) !== canonical(current)) groups.upsert(next);
    }
  }
}

/** JSON with keys sorted at every level, to compare configs whatever order their keys came in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
