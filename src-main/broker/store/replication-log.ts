/**
 * The store's side of replication (used by src-main/broker/ha). Upstream: `HAService` /
 * `HAConnection` read the master's commitlog, `DefaultMessageStore#appendToCommitLog` on a slave.
 *
 * The master ships whole raw records from its written end (`readReplicationChunk`); the slave
 * appends them at the same offsets byte for byte and dispatches its own consume queues and index
 * through the ordinary put pipeline (`appendReplicated`); a slave holding a tail its new master
 * never had cuts it (`truncateTail`). In replica mode local puts are refused, since a slave's
 * offsets must stay its master's.
 */
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import { takesQueueSlot, type Dispatcher } from './dispatcher.js';
import type { IntervalFlushService } from './flush/interval-flush.service.js';
import {
  BLANK_MAGIC_CODE,
  END_FILE_MIN_BLANK_LENGTH,
  MESSAGE_MAGIC_CODE_V1,
  MESSAGE_MAGIC_CODE_V2,
  checkStoredRecord,
  type RecordInfo,
} from './message-codec.js';
import type { PutPath } from './put-path.js';
import { errorStatus, type StoreLifecycle } from './store-types.js';

export interface ReplicationParts {
  lifecycle: StoreLifecycle;
  commitLog: CommitLog;
  queues: ConsumeQueueTable;
  putPath: PutPath;
  dispatcher: Dispatcher;
  flusher: IntervalFlushService;
}

/** What a cut removed: the byte range, whole records in it, and segment files deleted. */
export interface TruncateReport {
  from: number;
  to: number;
  bytes: number;
  records: number;
  removedSegments: string[];
}

export class ReplicationLog {
  constructor(private readonly parts: ReplicationParts) {}

  /** On for a slave: puts are refused, since its offsets must stay the master's. */
  setReplicaMode(on: boolean): void {
    this.parts.lifecycle.replicaMode = on;
  }

  get isReplica(): boolean {
    return this.parts.lifecycle.replicaMode;
  }

  /**
   * Whole records from `offset` (written ones only), about `maxBytes` of them; at least one
   * record even if it is larger. An end-of-segment blank ends the chunk (its 8 bytes stand for
   * the rest of the segment) and `nextOffset` is then the next segment's start. Null when
   * nothing is written at `offset` yet. Throws when the bytes at `offset` are not a record.
   */
  readReplicationChunk(offset: number, maxBytes: number): { data: Buffer; nextOffset: number } | null {
    const commitLog = this.parts.commitLog;
    const written = commitLog.writtenOffset;
    if (offset >= written) return null;
    if (offset < commitLog.minOffset) throw new Error(`offset ${offset} is below the log's first offset ${commitLog.minOffset}`);
    const segmentSize = commitLog.segmentSize;
    const segmentEnd = offset - (offset % segmentSize) + segmentSize;
    const available = Math.min(written, segmentEnd) - offset;
    const want = Math.min(available, Math.max(maxBytes, END_FILE_MIN_BLANK_LENGTH));
    let data = commitLog.read(offset, want);
    if (!data) {
      // Near a segment's end the file stops after the blank's 8 bytes: find the extent record by record.
      let p = offset;
      while (p - offset < want) {
        const head = commitLog.read(p, 8);
        if (!head) break;
        if (head.readInt32BE(4) === BLANK_MAGIC_CODE) {
          p += END_FILE_MIN_BLANK_LENGTH;
          break;
        }
        const size = head.readInt32BE(0);
        if (size < 8 || (p > offset && p + size - offset > want)) break;
        p += size;
      }
      data = p > offset ? commitLog.read(offset, p - offset) : null;
    }
    if (!data) throw new Error(`cannot read the log at ${offset}`);
    let p = 0;
    while (p + 8 <= data.length) {
      const size = data.readInt32BE(p);
      const magic = data.readInt32BE(p + 4);
      if (magic === BLANK_MAGIC_CODE) {
        if (offset + p + size !== segmentEnd) throw new Error(`blank at ${offset + p} does not end its segment`);
        return { data: data.subarray(0, p + END_FILE_MIN_BLANK_LENGTH), nextOffset: segmentEnd };
      }
      if ((magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) || size < 8) {
        throw new Error(`no record at ${offset + p} (magic 0x${(magic >>> 0).toString(16)}, size ${size})`);
      }
      if (p + size > data.length) {
        if (p > 0) break;
        // One record larger than maxBytes: send it whole.
        if (size > available) throw new Error(`record at ${offset} of ${size} bytes runs past the written end`);
        data = commitLog.read(offset, size);
        if (!data) throw new Error(`cannot read the record at ${offset}`);
        return { data, nextOffset: offset + size };
      }
      p += size;
    }
    if (p === 0) return null;
    return { data: data.subarray(0, p), nextOffset: offset + p };
  }

  /**
   * Slave side: appends records the master sent (`data`, whole records and at most one final
   * blank, starting at `offset`, which must be this log's end) byte for byte, then dispatches
   * them like local puts. All or nothing: every record is checked (layout, physicalOffset field,
   * segment fit) before any is appended. Resolves with the new end once the bytes are written to
   * the OS (a slave's ack means written, as RocketMQ's), rejects on any problem.
   */
  appendReplicated(offset: number, data: Buffer): Promise<number> {
    const { commitLog, queues, putPath, dispatcher } = this.parts;
    const state = this.parts.lifecycle.state;
    if (state !== 'OPEN') return Promise.reject(new Error(`message store is ${state.toLowerCase()}`));
    if (commitLog.failure) return Promise.reject(commitLog.failure);
    const end = commitLog.maxOffset;
    if (offset !== end) return Promise.reject(new Error(`replicated chunk starts at ${offset}, the log ends at ${end}`));
    const segmentSize = commitLog.segmentSize;
    const records: RecordInfo[] = [];
    let p = 0;
    let blankEnd = -1;
    while (p < data.length) {
      const at = offset + p;
      const segmentEnd = at - (at % segmentSize) + segmentSize;
      const r = checkStoredRecord(data, p, data.length, false);
      if (r.kind === 'BLANK') {
        if (at + r.size !== segmentEnd) {
          return Promise.reject(new Error(`blank at ${at} of ${r.size} bytes does not end a ${segmentSize}-byte segment (segment sizes differ?)`));
        }
        if (p + END_FILE_MIN_BLANK_LENGTH !== data.length) return Promise.reject(new Error(`blank at ${at} is not the chunk's last record`));
        blankEnd = segmentEnd;
        break;
      }
      if (r.kind !== 'MESSAGE') {
        return Promise.reject(new Error(`no whole record at ${at}: ${r.kind === 'CORRUPT' ? r.reason : 'cut short'}`));
      }
      if (r.info.physicalOffset !== at) return Promise.reject(new Error(`record at ${at} says it lives at ${r.info.physicalOffset}`));
      if (at + r.info.size + END_FILE_MIN_BLANK_LENGTH > segmentEnd) return Promise.reject(new Error(`record at ${at} crosses a segment end`));
      records.push(r.info);
      p += r.info.size;
    }
    return new Promise<number>((resolve, reject) => {
      const newEnd = blankEnd >= 0 ? blankEnd : offset + p;
      const put = putPath.newPut((r) => (r.status === 'PUT_OK' ? resolve(newEnd) : reject(new Error(r.error ?? r.status))), { WAIT: 'false' });
      put.endOffset = newEnd;
      let q = 0;
      for (const info of records) {
        const physicalOffset = commitLog.appendRaw(data.subarray(q, q + info.size));
        q += info.size;
        if (takesQueueSlot(info.sysFlag) && info.queueOffset + 1 > queues.nextQueueOffset(info.topic, info.queueId)) {
          queues.setNextQueueOffset(info.topic, info.queueId, info.queueOffset + 1);
        }
        putPath.enqueue({ ...dispatcher.requestOf(info, physicalOffset), put });
      }
      if (blankEnd >= 0) {
        // The segment's records are written before its blank (as makeRoom does for puts).
        putPath.writePending();
        if (!put.failed) {
          const error = commitLog.rollSegment();
          if (error) put.failed = errorStatus(error);
        }
      }
      putPath.scheduleTick();
    });
  }

  /**
   * Cuts everything from `offset` (a record boundary) on: commitlog, consume-queue entries that
   * point there, next queue offsets; the checkpoint is rewritten. Index entries past the cut stay
   * but are harmless: queries re-read and re-check every record they point at. For a slave
   * holding a tail its new master never had (a returning old master). Reports what was cut.
   */
  truncateTail(offset: number): TruncateReport {
    const { commitLog, queues } = this.parts;
    const state = this.parts.lifecycle.state;
    if (state !== 'OPEN') throw new Error(`message store is ${state.toLowerCase()}`);
    this.parts.putPath.tick();
    const to = commitLog.maxOffset;
    const report: TruncateReport = { from: offset, to, bytes: Math.max(0, to - offset), records: 0, removedSegments: [] };
    if (offset >= to) return report;
    if (offset < commitLog.minOffset) throw new Error(`cannot cut at ${offset}: below the log's first offset ${commitLog.minOffset}`);
    const segmentSize = commitLog.segmentSize;
    for (let at = offset; at < to;) {
      const head = commitLog.read(at, 8);
      if (!head) break;
      const size = head.readInt32BE(0);
      if (head.readInt32BE(4) === BLANK_MAGIC_CODE) {
        at = at - (at % segmentSize) + segmentSize;
        continue;
      }
      if (size < 8) throw new Error(`cannot cut at ${offset}: no record boundary walk past ${at}`);
      report.records++;
      at += size;
    }
    report.removedSegments = commitLog.truncateTo(offset);
    for (const cq of queues.all()) cq.truncateDirty(offset);
    queues.resetNextOffsetsToMax();
    this.parts.dispatcher.dispatchedOffset = offset;
    this.parts.flusher.lowerDerivedTo(offset);
    this.parts.flusher.writeCheckpointSync();
    return report;
  }
}
