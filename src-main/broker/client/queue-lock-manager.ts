/**
 * Message-queue locks for orderly consumers. RocketMQ: RebalanceLockManager.
 *
 * A consumer group's clients lock the queues they were allocated (LOCK_BATCH_MQ) before consuming
 * them, and renew by locking again (Java clients every 20 s). A queue is granted to a client if it
 * is free, already held by that client, or its holder's lock has expired (not renewed within the
 * lock lifetime, RocketMQ 60 s). Only the holder can unlock. Locks are not dropped when a client's
 * connection closes: another client gets the queue once the lock expires (or is unlocked), so a
 * consumer that is still processing when its connection breaks never shares its queue.
 */

export interface LockedQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  clientId: string;
  lastUpdate: number;
}

export interface QueueLockView extends LockedQueue {
  group: string;
  clientId: string;
  lastUpdate: number;
  expired: boolean;
}

const queueKey = (q: LockedQueue): string => `${q.topic}\u0001${q.brokerName}\u0001${q.queueId}`;

export class QueueLockManager {
  /** group → queue key → holder. */
  private readonly table = new Map<string, Map<string, LockEntry>>();

  /** @param lockMaxLiveTimeMs lifetime of a lock not renewed (RocketMQ rebalance.lockMaxLiveTime, 60 s). */
  constructor(private readonly lockMaxLiveTimeMs: () => number, private readonly now: () => number = Date.now) {}

  /** Locks what it can for `clientId`; returns the queues now held by it (lockOKMQSet), in request order. */
  tryLockBatch(group: string, queues: LockedQueue[], clientId: string): LockedQueue[] {
    const now = this.now();
    let byQueue = this.table.get(group);
    if (!byQueue) {
      byQueue = new Map();
      this.table.set(group, byQueue);
    }
    const granted: LockedQueue[] = [];
    const seen = new Set<string>();
    for (const q of queues) {
      const key = queueKey(q);
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = byQueue.get(key);
      if (!entry || entry.clientId === clientId || this.isExpired(entry, now)) {
        byQueue.set(key, { clientId, lastUpdate: now });
        granted.push({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId });
      }
    }
    return granted;
  }

  /** Releases the queues this client holds; others' locks are left alone. */
  unlockBatch(group: string, queues: LockedQueue[], clientId: string): number {
    const byQueue = this.table.get(group);
    if (!byQueue) return 0;
    let released = 0;
    for (const q of queues) {
      const key = queueKey(q);
      const entry = byQueue.get(key);
      if (entry && entry.clientId === clientId) {
        byQueue.delete(key);
        released++;
      }
    }
    if (byQueue.size === 0) this.table.delete(group);
    return released;
  }

  /** True while any queue of the group is locked and not expired (RebalanceLockManager#isLockAllExpired negated). */
  hasUnexpiredLocks(group: string): boolean {
    const byQueue = this.table.get(group);
    if (!byQueue) return false;
    const now = this.now();
    for (const entry of byQueue.values()) if (!this.isExpired(entry, now)) return true;
    return false;
  }

  /** Holder of a queue if its lock is live. */
  holder(group: string, queue: LockedQueue): string | undefined {
    const entry = this.table.get(group)?.get(queueKey(queue));
    return entry && !this.isExpired(entry, this.now()) ? entry.clientId : undefined;
  }

  /** Every lock (expired ones flagged), for admin views. */
  list(): QueueLockView[] {
    const now = this.now();
    const out: QueueLockView[] = [];
    for (const [group, byQueue] of this.table) {
      for (const [key, entry] of byQueue) {
        const [topic, brokerName, queueId] = key.split('\u0001') as [string, string, string];
        out.push({ group, topic, brokerName, queueId: Number(queueId), clientId: entry.clientId, lastUpdate: entry.lastUpdate,
          expired: this.isExpired(entry, now) });
      }
    }
    return out;
  }

  /** Drops expired entries so the table does not grow with departed clients. */
  purgeExpired(): void {
    const now = this.now();
    for (const [group, byQueue] of this.table) {
      for (const [key, entry] of byQueue) if (this.isExpired(entry, now)) byQueue.delete(key);
      if (byQueue.size === 0) this.table.delete(group);
    }
  }

  private isExpired(entry: LockEntry, now: number): boolean {
    return now - entry.lastUpdate > this.lockMaxLiveTimeMs();
  }
}
