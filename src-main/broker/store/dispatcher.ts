/**
 * The dispatcher: one commitlog record → its consume-queue entry and index keys. Upstream:
 * `DefaultMessageStore.ReputMessageService` → `CommitLogDispatcherBuildConsumeQueue` and
 * `CommitLogDispatcherBuildIndex`. The same code serves records just written by a put or by
 * replication (`dispatchWritten`) and records read back by recovery (`dispatchRecovered`), so a
 * rebuilt consume queue or index is exactly what live dispatch would have made.
 */
import { createLogger } from '../../remoting/logger.js';
import type { ConsumeQueue } from './consume-queue.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { IndexService } from './index-file.js';
import {
  MessageSysFlag,
  PROPERTY_KEYS,
  PROPERTY_TAGS,
  PROPERTY_UNIQ_KEY,
  tagsString2tagsCode,
  transactionType,
  type RecordInfo,
} from './message-codec.js';
import type { MessageArrivedListener, MessageStoreConfig } from './store-types.js';
import type { TopicTombstones } from './topic-tombstones.js';

const log = createLogger('store');

/** What the dispatcher needs from one stored record (RocketMQ DispatchRequest). */
export interface DispatchRequest {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  tagsCode: number;
  storeTimestamp: number;
  sysFlag: number;
  keys: string | undefined;
  uniqKey: string | undefined;
}

/** Consume-queue repairs a recovery made, for its report. */
export interface RecoveryCounts {
  added: number;
  repaired: number;
  holes: number;
}

/** PREPARED and ROLLBACK records take no queue slot (CommitLog.DefaultAppendMessageCallback#doAppend). */
export function takesQueueSlot(sysFlag: number): boolean {
  const type = transactionType(sysFlag);
  return type === MessageSysFlag.TRANSACTION_NOT_TYPE || type === MessageSysFlag.TRANSACTION_COMMIT_TYPE;
}

export class Dispatcher {
  /** All records below this offset are dispatched. */
  dispatchedOffset = 0;
  private readonly dirtyQueues = new Set<ConsumeQueue>();
  private readonly listeners: MessageArrivedListener[] = [];

  constructor(
    private readonly queues: ConsumeQueueTable,
    private readonly index: IndexService,
    private readonly tombstones: TopicTombstones,
    private readonly tagsCodeResolver: MessageStoreConfig['tagsCodeResolver'],
  ) {}

  /** The record's tag code: the configured resolver's, else the hash of TAGS. */
  tagsCodeOf(topic: string, properties: Record<string, string>, storeTimestamp: number): number {
    const resolved = this.tagsCodeResolver?.(topic, properties, storeTimestamp);
    return resolved ?? tagsString2tagsCode(properties[PROPERTY_TAGS]);
  }

  /** The request for a decoded record (recovery, replication), at `physicalOffset` (default: where it says it is). */
  requestOf(info: RecordInfo, physicalOffset = info.physicalOffset): DispatchRequest {
    const p = info.properties;
    return {
      topic: info.topic,
      queueId: info.queueId,
      queueOffset: info.queueOffset,
      physicalOffset,
      size: info.size,
      tagsCode: this.tagsCodeOf(info.topic, p, info.storeTimestamp),
      storeTimestamp: info.storeTimestamp,
      sysFlag: info.sysFlag,
      keys: p[PROPERTY_KEYS],
      uniqKey: p[PROPERTY_UNIQ_KEY],
    };
  }

  /** Called once per message when its consume-queue entry is visible (long polling wake-up). */
  onMessageArrived(listener: MessageArrivedListener): void {
    this.listeners.push(listener);
  }

  /**
   * PREPARED/ROLLBACK records get no queue entry; ROLLBACK records are not indexed; records of a
   * deleted topic are skipped. Idempotent: entries and keys already present are skipped. Returns
   * the consume queue that got an entry, if any.
   */
  dispatch(r: DispatchRequest, verifyQueue: boolean, counts?: RecoveryCounts): ConsumeQueue | null {
    if (this.tombstones.covers(r.topic, r.physicalOffset)) return null;
    let cq: ConsumeQueue | null = null;
    if (takesQueueSlot(r.sysFlag)) {
      cq = this.queues.getOrCreate(r.topic, r.queueId);
      const before = cq.maxOffset;
      const outcome = cq.put(r.queueOffset, r.physicalOffset, r.size, r.tagsCode, verifyQueue);
      if (counts) {
        if (outcome === 'APPENDED') counts.added++;
        else if (outcome === 'REPAIRED') counts.repaired++;
        else if (outcome === 'GAP') {
          counts.added++;
          counts.holes += r.queueOffset - before;
        }
      }
    }
    if (transactionType(r.sysFlag) !== MessageSysFlag.TRANSACTION_ROLLBACK_TYPE) {
      this.index.buildIndex(r.topic, r.uniqKey, r.keys, r.physicalOffset, r.storeTimestamp);
    }
    return cq;
  }

  /** Recovery: a record read back from the commitlog; `verifyQueue` checks entries already there. */
  dispatchRecovered(info: RecordInfo, verifyQueue: boolean, counts: RecoveryCounts): void {
    this.dispatch(this.requestOf(info), verifyQueue, counts);
  }

  /**
   * The reput step for records just written (up to `writtenOffset`): entries and keys, one write
   * per touched queue, then the arrival listeners. A failure never fails a stored message: the
   * record is on disk and the next recovery dispatches it again.
   */
  dispatchWritten(records: readonly DispatchRequest[], writtenOffset: number): void {
    if (records.length === 0) {
      this.dispatchedOffset = writtenOffset;
      return;
    }
    const arrived: DispatchRequest[] = [];
    for (const r of records) {
      try {
        const cq = this.dispatch(r, false);
        if (cq) {
          this.dirtyQueues.add(cq);
          arrived.push(r);
        }
      } catch (e) {
        log.error(`dispatch of ${r.topic}/${r.queueId}@${r.queueOffset} failed: ${(e as Error).message}`);
      }
    }
    for (const cq of this.dirtyQueues) {
      const error = cq.commit();
      if (error) log.error(`consume queue ${cq.topic}/${cq.queueId} write failed (kept in memory, retried): ${error.message}`);
    }
    this.dirtyQueues.clear();
    this.dispatchedOffset = writtenOffset;
    if (this.listeners.length === 0) return;
    for (const r of arrived) {
      for (const listener of this.listeners) {
        try {
          listener(r.topic, r.queueId, r.queueOffset, r.tagsCode);
        } catch (e) {
          log.error(`message arrived listener: ${(e as Error).message}`);
        }
      }
    }
  }
}
