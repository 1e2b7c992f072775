/**
 * The read path: pull (getMessage), offsets and times of a queue, view by offset, query by key.
 * Upstream: `DefaultMessageStore#getMessage`, `#lookMessageByOffset`, `#queryMessage`.
 *
 * Every record returned is verified: layout, offset field, whole-record CRC, and (for a pull)
 * that it is the record its consume-queue entry names. A damaged one (bit rot below the
 * checkpoint, which recovery does not re-read) is skipped, logged once and kept for the
 * corruption report; it is never served. Cost: one CRC pass, ≈ 0.5 µs per 1 KiB record.
 */
import { createLogger } from '../../remoting/logger.js';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { IndexService } from './index-file.js';
import {
  POS_QUEUE_ID,
  POS_QUEUE_OFFSET,
  PROPERTY_KEYS,
  PROPERTY_UNIQ_KEY,
  checkStoredRecord,
  readInt64,
  recordTopic,
  verifyStoredRecord,
} from './message-codec.js';
import type { CorruptRead, GetMessageResult, StoreLifecycle } from './store-types.js';
import type { TopicTombstones } from './topic-tombstones.js';

const log = createLogger('store');

const DEFAULT_MAX_TRANSFER_BYTES = 256 * 1024;
/** getMessage scans at most this many consume-queue entries per call (maxFilterMessageCount = 16000 bytes / 20). */
const MAX_SCAN_ENTRIES = 800;
/** Damaged records found by reads that are remembered for the report (the counter keeps counting). */
const MAX_CORRUPT_READS_KEPT = 1000;

export interface ReadParts {
  lifecycle: StoreLifecycle;
  commitLog: CommitLog;
  queues: ConsumeQueueTable;
  index: IndexService;
  tombstones: TopicTombstones;
}

export class ReadPath {
  /** Damaged records reads ran into (pull, view, query), by commitlog offset. */
  private readonly corruptReads = new Map<number, CorruptRead>();
  private corruptReadCount = 0;

  constructor(private readonly parts: ReadParts) {}

  /** Damaged records skipped since open (each read counts). */
  get corruptReadsTotal(): number {
    return this.corruptReadCount;
  }

  /** The damaged records remembered, one per offset. */
  corruptReadList(): CorruptRead[] {
    return [...this.corruptReads.values()];
  }

  /** DefaultMessageStore#getMessage. */
  getMessage(
    topic: string,
    queueId: number,
    offset: number,
    maxMsgNums: number,
    filter?: (tagsCode: number) => boolean,
    maxBytes = DEFAULT_MAX_TRANSFER_BYTES,
  ): GetMessageResult {
    const state = this.parts.lifecycle.state;
    if (state !== 'OPEN' && state !== 'CLOSING') {
      return { status: 'NO_MATCHED_LOGIC_QUEUE', messages: [], nextBeginOffset: offset, minOffset: 0, maxOffset: 0 };
    }
    const cq = this.parts.queues.find(topic, queueId);
    if (!cq) {
      // RocketMQ creates the queue on lookup, so an unknown queue reads as an empty one.
      return { status: 'NO_MESSAGE_IN_QUEUE', messages: [], nextBeginOffset: 0, minOffset: 0, maxOffset: 0 };
    }
    const minOffset = cq.minOffset;
    const maxOffset = cq.maxOffset;
    const result: GetMessageResult = { status: 'NO_MATCHED_MESSAGE', messages: [], nextBeginOffset: offset, minOffset, maxOffset };
    if (maxOffset === 0) {
      result.status = 'NO_MESSAGE_IN_QUEUE';
      result.nextBeginOffset = 0;
    } else if (offset < minOffset) {
      result.status = 'OFFSET_TOO_SMALL';
      result.nextBeginOffset = minOffset;
    } else if (offset === maxOffset) {
      result.status = 'OFFSET_OVERFLOW_ONE';
      result.nextBeginOffset = offset;
    } else if (offset > maxOffset) {
      result.status = 'OFFSET_OVERFLOW_BADLY';
      result.nextBeginOffset = minOffset === 0 ? minOffset : maxOffset;
    } else {
      const wanted = Math.max(1, maxMsgNums);
      const clMin = this.parts.commitLog.minOffset;
      let bytes = 0;
      let next = offset;
      let scanned = 0;
      // Read the queue in slices; a filter that rejects much keeps reading, up to the scan budget.
      const budget = Math.max(MAX_SCAN_ENTRIES, wanted);
      scan: while (scanned < budget && next < maxOffset) {
        const entries = cq.read(next, Math.min(budget - scanned, Math.max(wanted, 32)));
        if (entries.length === 0) break;
        for (const e of entries) {
          if (result.messages.length >= wanted) break scan;
          if (result.messages.length > 0 && bytes + e.size > maxBytes) break scan;
          next = e.queueOffset + 1;
          scanned++;
          if (e.size <= 0) continue; // hole
          if (e.commitLogOffset < clMin) {
            if (result.messages.length === 0) result.status = 'MESSAGE_WAS_REMOVING';
            continue;
          }
          if (filter && !filter(e.tagsCode)) {
            if (result.messages.length === 0) result.status = 'NO_MATCHED_MESSAGE';
            continue;
          }
          const raw = this.readVerified(e.commitLogOffset, e.size, topic, queueId, e.queueOffset);
          if (!raw) {
            if (result.messages.length === 0) result.status = 'MESSAGE_WAS_REMOVING';
            continue;
          }
          result.messages.push(raw);
          bytes += e.size;
          result.status = 'FOUND';
        }
      }
      if (scanned === 0 && result.messages.length === 0 && next === offset) {
        result.status = 'OFFSET_FOUND_NULL';
        result.nextBeginOffset = offset + 1;
        return result;
      }
      result.nextBeginOffset = next;
    }
    return result;
  }

  getMinOffset(topic: string, queueId: number): number {
    return this.parts.queues.find(topic, queueId)?.minOffset ?? 0;
  }

  getMaxOffset(topic: string, queueId: number): number {
    return this.parts.queues.find(topic, queueId)?.maxOffset ?? 0;
  }

  /** First queue offset stored at or after `timestamp` (boundary "lower"); maxOffset if none. */
  getOffsetByTime(topic: string, queueId: number, timestamp: number): number {
    const cq = this.parts.queues.find(topic, queueId);
    if (!cq) return 0;
    return cq.offsetByTime(timestamp, (phy) => this.parts.commitLog.readStoreTimestamp(phy));
  }

  /** Store time of the message at `offset`, -1 if there is none. */
  getStoreTime(topic: string, queueId: number, offset: number): number {
    const entry = this.parts.queues.find(topic, queueId)?.readEntry(offset);
    if (!entry || entry.size <= 0) return -1;
    return this.parts.commitLog.readStoreTimestamp(entry.commitLogOffset);
  }

  getEarliestMessageTime(topic: string, queueId: number): number {
    const cq = this.parts.queues.find(topic, queueId);
    if (!cq || cq.maxOffset <= cq.minOffset) return -1;
    for (let offset = cq.minOffset; offset < Math.min(cq.maxOffset, cq.minOffset + 64); offset++) {
      const t = this.getStoreTime(topic, queueId, offset);
      if (t >= 0) return t;
    }
    return -1;
  }

  /** The raw record at a commitlog offset (VIEW_MESSAGE_BY_ID), or null. */
  lookMessageByOffset(physicalOffset: number): Buffer | null {
    if (!Number.isSafeInteger(physicalOffset) || physicalOffset < 0) return null;
    const raw = this.parts.commitLog.readMessage(physicalOffset);
    if (!raw) return null;
    const problem = this.verifyRecord(raw, physicalOffset);
    if (problem) {
      this.noteCorruptRead({ offset: physicalOffset, size: -1, reason: problem });
      return null;
    }
    return raw;
  }

  /**
   * Messages of `topic` whose KEYS words or UNIQ_KEY equal `key`, stored in [beginTs, endTs],
   * newest first, at most maxNum (IndexService#queryOffset + a re-check: hashes collide).
   */
  queryMessage(topic: string, key: string, maxNum: number, beginTs: number, endTs: number): Buffer[] {
    const out: Buffer[] = [];
    if (maxNum <= 0 || !key) return out;
    const seen = new Set<number>();
    let budget = maxNum * 16 + 256; // bounds the walk through colliding chains
    this.parts.index.queryOffsets(topic, key, beginTs, endTs, (phy) => {
      if (--budget < 0) return false;
      if (seen.has(phy)) return true;
      seen.add(phy);
      if (this.parts.tombstones.covers(topic, phy)) return true;
      const raw = this.lookMessageByOffset(phy);
      if (!raw) return true;
      const check = checkStoredRecord(raw, 0, raw.length, false);
      if (check.kind !== 'MESSAGE') return true;
      const info = check.info;
      if (info.topic !== topic || info.storeTimestamp < beginTs || info.storeTimestamp > endTs) return true;
      const keys = info.properties[PROPERTY_KEYS];
      if (info.properties[PROPERTY_UNIQ_KEY] === key || (keys !== undefined && keys.split(' ').includes(key))) out.push(raw);
      return out.length < maxNum;
    });
    return out;
  }

  /** null if `raw` is an intact record stored at `offset`, else why not. */
  private verifyRecord(raw: Buffer, offset: number): string | null {
    return verifyStoredRecord(raw, offset, offset >= this.parts.commitLog.recordCrcRequiredFrom);
  }

  /**
   * The record a consume-queue entry points at, verified (layout, offset, whole-record CRC) and
   * cross-checked against the entry (topic, queue id, queue offset); null when it is not there or
   * damaged. A damaged entry in front of an intact record (the size wrong) still finds the record.
   */
  private readVerified(offset: number, size: number, topic: string, queueId: number, queueOffset: number): Buffer | null {
    const commitLog = this.parts.commitLog;
    let raw = commitLog.read(offset, size);
    if (!raw) return null;
    let problem = this.verifyRecord(raw, offset);
    if (problem && raw.length >= 8 && raw.readInt32BE(0) !== size) {
      const own = commitLog.readMessage(offset);
      if (own && !this.verifyRecord(own, offset)) {
        raw = own;
        problem = null;
      }
    }
    if (!problem) problem = mismatchWithEntry(raw, topic, queueId, queueOffset);
    if (problem) {
      this.noteCorruptRead({ offset, size, reason: problem, topic, queueId, queueOffset });
      return null;
    }
    return raw;
  }

  private noteCorruptRead(r: Omit<CorruptRead, 'firstSeen' | 'count'>): void {
    this.corruptReadCount++;
    const known = this.corruptReads.get(r.offset);
    if (known) {
      known.count++;
      return;
    }
    if (this.corruptReads.size < MAX_CORRUPT_READS_KEPT) this.corruptReads.set(r.offset, { ...r, firstSeen: Date.now(), count: 1 });
    const where = r.topic === undefined ? '' : ` (${r.topic}/${r.queueId}@${r.queueOffset})`;
    log.error(`damaged record at commitlog offset ${r.offset}${where} skipped, never served: ${r.reason}`);
  }
}

/** A verified record must be the one its consume-queue entry names (a damaged entry could point at another). */
function mismatchWithEntry(raw: Buffer, topic: string, queueId: number, queueOffset: number): string | null {
  if (raw.readInt32BE(POS_QUEUE_ID) !== queueId) return `record has queueId ${raw.readInt32BE(POS_QUEUE_ID)}, its entry says ${queueId}`;
  if (readInt64(raw, POS_QUEUE_OFFSET) !== queueOffset) return `record has queueOffset ${readInt64(raw, POS_QUEUE_OFFSET)}, its entry says ${queueOffset}`;
  const check = recordTopic(raw);
  if (check !== topic) return `record has topic ${JSON.stringify(check)}, its entry says ${JSON.stringify(topic)}`;
  return null;
}
