/**
 * Every consume queue of the store, by topic and queue id, with the next queue offset each put
 * takes (DefaultMessageStore.consumeQueueTable + CommitLog.topicQueueTable). Queues are created on
 * first use and live under `<storeDir>/consumequeue/<topic>/<queueId>/`.
 */
import path from 'node:path';
import { ConsumeQueue, type FileDescriptorCache } from './consume-queue.js';

export class ConsumeQueueTable {
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  /** Next queue offset per topic/queue; runs ahead of the queue's max while records are pending. */
  private readonly nextOffsets = new Map<string, Map<number, number>>();

  constructor(
    readonly rootDir: string,
    private readonly entriesPerFile: number,
    private readonly fds: FileDescriptorCache,
  ) {}

  find(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic)?.get(queueId);
  }

  getOrCreate(topic: string, queueId: number): ConsumeQueue {
    let byQueue = this.queues.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.queues.set(topic, byQueue);
    }
    let cq = byQueue.get(queueId);
    if (!cq) {
      cq = new ConsumeQueue({ rootDir: this.rootDir, topic, queueId, entriesPerFile: this.entriesPerFile, fds: this.fds });
      byQueue.set(queueId, cq);
    }
    return cq;
  }

  /** Every queue, topic by topic in creation order. */
  *all(): IterableIterator<ConsumeQueue> {
    for (const byQueue of this.queues.values()) yield* byQueue.values();
  }

  get size(): number {
    let n = 0;
    for (const byQueue of this.queues.values()) n += byQueue.size;
    return n;
  }

  get diskBytes(): number {
    let bytes = 0;
    for (const cq of this.all()) bytes += cq.diskBytes;
    return bytes;
  }

  nextQueueOffset(topic: string, queueId: number): number {
    return this.nextOffsets.get(topic)?.get(queueId) ?? 0;
  }

  setNextQueueOffset(topic: string, queueId: number, next: number): void {
    let byQueue = this.nextOffsets.get(topic);
    if (!byQueue) {
      byQueue = new Map();
      this.nextOffsets.set(topic, byQueue);
    }
    byQueue.set(queueId, next);
  }

  /** After recovery or a cut nothing is pending: each queue's next offset is its max. */
  resetNextOffsetsToMax(): void {
    for (const cq of this.all()) this.setNextQueueOffset(cq.topic, cq.queueId, cq.maxOffset);
  }

  /** Loads every queue found on disk; returns the bytes cut from their tails (partial or zero entries). */
  loadFromDisk(): number {
    const io = this.fds.io;
    let tailBytesCut = 0;
    for (const topic of io.readdirSync(this.rootDir)) {
      const topicDir = path.join(this.rootDir, topic);
      if (!io.statSync(topicDir).isDirectory()) continue;
      for (const q of io.readdirSync(topicDir)) {
        if (!/^\d+$/.test(q)) continue;
        tailBytesCut += this.getOrCreate(topic, Number(q)).load().truncatedBytes;
      }
    }
    return tailBytesCut;
  }

  /** Drops a topic's queues and their files. */
  deleteTopic(topic: string): void {
    const byQueue = this.queues.get(topic);
    if (byQueue) for (const cq of byQueue.values()) cq.destroy();
    this.queues.delete(topic);
    this.nextOffsets.delete(topic);
    const topicDir = path.join(this.rootDir, topic);
    this.fds.closeUnder(topicDir);
    this.fds.io.rmSync(topicDir, { recursive: true, force: true });
  }

  /** Queues holding data, per topic. */
  topicQueueIds(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [topic, byQueue] of this.queues) {
      const ids = [...byQueue.values()].filter((cq) => cq.maxOffset > 0).map((cq) => cq.queueId).sort((a, b) => a - b);
      if (ids.length > 0) out.set(topic, ids);
    }
    return out;
  }
}
