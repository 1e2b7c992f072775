/**
 * Committed consumer offsets, "next message to consume" per topic@group and queue.
 * Held in memory (updated on every pull commit) and persisted to NeDB periodically and at close,
 * like RocketMQ's ConsumerOffsetManager (flushConsumerOffsetInterval 5 s).
 */
import path from 'node:path';
import { NedbTable } from './nedb-table.js';

type QueueOffsets = Record<string, number>;

export class ConsumerOffsetManager {
  private readonly table: NedbTable<QueueOffsets>;
  private readonly offsets = new Map<string, Map<number, number>>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  /** Resets made by an admin, handed to the next pull of each queue (RocketMQ 5 server-side reset). */
  private readonly pendingResets = new Map<string, number>();

  constructor(metaDir: string, private readonly persistMs: number) {
    this.table = new NedbTable<QueueOffsets>(path.join(metaDir, 'consumer-offsets.db'));
  }

  async load(): Promise<void> {
    const rows = await this.table.load();
    for (const [key, value] of rows) {
      const m = new Map<number, number>();
      for (const [q, off] of Object.entries(value)) m.set(Number(q), off);
      this.offsets.set(key, m);
    }
    this.timer = setInterval(() => this.persist(), this.persistMs);
    this.timer.unref();
  }

  static key(topic: string, group: string): string {
    return `${topic}@${group}`;
  }

  query(group: string, topic: string, queueId: number): number | undefined {
    return this.offsets.get(ConsumerOffsetManager.key(topic, group))?.get(queueId);
  }

  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = ConsumerOffsetManager.key(topic, group);
    let m = this.offsets.get(key);
    if (!m) {
      m = new Map();
      this.offsets.set(key, m);
    }
    m.set(queueId, offset);
    this.dirty.add(key);
  }

  setPendingReset(group: string, topic: string, queueId: number, offset: number): void {
    this.pendingResets.set(`${topic}@${group}@${queueId}`, offset);
  }

  takePendingReset(group: string, topic: string, queueId: number): number | undefined {
    const key = `${topic}@${group}@${queueId}`;
    const v = this.pendingResets.get(key);
    if (v !== undefined) this.pendingResets.delete(key);
    return v;
  }

  /** Every (topic, group) with offsets, for GET_CONSUME_STATS and QUERY_TOPIC_CONSUME_BY_WHO. */
  entries(): Array<{ topic: string; group: string; offsets: Map<number, number> }> {
    return [...this.offsets].map(([key, offsets]) => {
      const at = key.lastIndexOf('@');
      return { topic: key.slice(0, at), group: key.slice(at + 1), offsets };
    });
  }

  topicsOfGroup(group: string): string[] {
    return this.entries().filter((e) => e.group === group).map((e) => e.topic);
  }

  groupsOfTopic(topic: string): string[] {
    return this.entries().filter((e) => e.topic === topic).map((e) => e.group);
  }

  removeTopic(topic: string): void {
    for (const e of this.entries()) if (e.topic === topic) this.removeKey(ConsumerOffsetManager.key(e.topic, e.group));
  }

  removeGroup(group: string): void {
    for (const e of this.entries()) if (e.group === group) this.removeKey(ConsumerOffsetManager.key(e.topic, e.group));
  }

  /** Offsets as GET_ALL_CONSUMER_OFFSET serializes them. */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [key, m] of this.offsets) out[key] = Object.fromEntries([...m].map(([q, o]) => [String(q), o]));
    return out;
  }

  persist(): void {
    for (const key of this.dirty) {
      const m = this.offsets.get(key);
      if (m) void this.table.put(key, Object.fromEntries([...m].map(([q, o]) => [String(q), o])));
    }
    this.dirty.clear();
  }

  /** In-process kill (fault control): the persist timer stops, nothing more is written. */
  abandon(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.persist();
    await this.table.close();
  }

  private removeKey(key: string): void {
    this.offsets.delete(key);
    this.dirty.delete(key);
    void this.table.remove(key);
  }
}
