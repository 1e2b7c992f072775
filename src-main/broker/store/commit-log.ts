/**
 * CommitLog: the append-only log every message is stored in once. Upstream:
 * `store/.../CommitLog.java` (append, blank at segment end, recover) and `MappedFileQueue.java`
 * (segments named by their 20-digit start offset).
 *
 * On disk: `<storeDir>/commitlog/00000000000000000000`, `.../00000000001073741824`, ...; each
 * segment covers [start, start + segmentSize) of the log. A record never spans segments: when the
 * next record (plus room for a blank) does not fit, an 8-byte blank is written and the log moves to
 * the next segment:
 *
 *   segment N: | record | record | ... | record | totalSize=remaining, magic 0xCBD43194 | (unused) |
 *
 * Files are not preallocated, so a segment file is as long as what was written to it.
 *
 * Writes: `append` encodes into an in-memory pending buffer (one segment's worth of not-yet-written
 * bytes, [writtenOffset, appendOffset)); the owner calls `writePending()` once per event-loop turn,
 * which issues one positional write for everything appended meanwhile. Reads of pending bytes are
 * served from the buffer. A failed or short write is cut back with ftruncate to the last whole
 * record and everything pending is dropped (the owner fails those puts). An fsync failure makes
 * the log read-only: after "fsyncgate" a retry could report success with nothing on disk.
 */
import path from 'node:path';
import { nodeFileIO, type FileIO } from './io/file-io.js';
import {
  END_FILE_MIN_BLANK_LENGTH,
  MESSAGE_MAGIC_CODE_V1,
  MESSAGE_MAGIC_CODE_V2,
  POS_MAGIC,
  POS_PHYSICAL_OFFSET,
  checkStoredRecord,
  readInt64,
  readStoreTimestamp,
  writeBlank,
  writeStoredMessage,
  type RecordEncodeInput,
  type RecordInfo,
} from './message-codec.js';

export const DEFAULT_COMMIT_LOG_SEGMENT_SIZE = 1024 * 1024 * 1024;
const SEGMENT_NAME = /^\d{20}$/;
/** Sealed segments keep a read descriptor open; beyond this many the least recently used is closed. */
const MAX_OPEN_SEALED_SEGMENTS = 16;
/** Recovery reads the log in chunks of this size (grown for larger records). */
const SCAN_CHUNK_SIZE = 4 * 1024 * 1024;
const INITIAL_PENDING_CAPACITY = 1024 * 1024;

export function segmentFileName(startOffset: number): string {
  return String(startOffset).padStart(20, '0');
}

/** The calls a fault test replaces (ENOSPC on write, EIO on fsync). */
export interface CommitLogFileOps {
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  fdatasync(fd: number): Promise<void>;
}

/** The write and fsync of a FileIO, as the hook's default. */
export function fileOpsOf(io: FileIO): CommitLogFileOps {
  return {
    writeSync: (fd, buffer, offset, length, position) => io.writeSync(fd, buffer, offset, length, position),
    fdatasync: (fd) => io.fdatasync(fd),
  };
}

export const nodeFileOps: CommitLogFileOps = fileOpsOf(nodeFileIO);

export interface CommitLogOptions {
  dir: string;
  segmentSize?: number;
  /** Replaces only the append write and the fsync (fault tests); defaults to those of `io`. */
  fileOps?: CommitLogFileOps;
  /** Every other file operation (CrashFS in power-failure tests). */
  io?: FileIO;
}

interface Segment {
  start: number;
  path: string;
  fd: number | null;
  /** Bytes in the file. */
  fileSize: number;
  /** Bytes known to be fsynced. */
  syncedSize: number;
}

export type WriteOutcome =
  | { ok: true; bytes: number }
  | { ok: false; error: Error; droppedFrom: number; droppedTo: number };

export type RoomCheck = 'OK' | 'ROLL' | 'TOO_LARGE';

export interface CommitLogRecovery {
  scannedFrom: number;
  endOffset: number;
  records: number;
  /** A torn tail cut off: nothing valid followed `from`. */
  truncated?: { from: number; bytes: number; reason: string };
  /** Damaged ranges with valid records after them: kept on disk (offsets never move), skipped. */
  corruptRanges: { from: number; to: number; reason: string }[];
  removedSegments: string[];
}

export interface RecoverOptions {
  /** A record boundary at or before which everything is trusted (the checkpoint). */
  from: number;
  checkCRC: boolean;
  /** Called for every valid record at or after `from`, in log order. */
  onRecord: (info: RecordInfo) => void;
}

export class CommitLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitLogError';
  }
}

export class CommitLog {
  readonly dir: string;
  readonly segmentSize: number;
  readonly io: FileIO;
  /**
   * Records at or after this offset must carry the whole-record CRC trailer (a store created by a
   * version that writes it everywhere); before it a record without one is checked by body CRC.
   */
  recordCrcRequiredFrom = Number.POSITIVE_INFINITY;
  private readonly ops: CommitLogFileOps;
  private segments: Segment[] = [];
  private readonly openSealed = new Map<Segment, true>();

  private pending = Buffer.allocUnsafe(INITIAL_PENDING_CAPACITY);
  private pendingLength = 0;
  /** Next record goes here; [writtenOffset, appendOffset) is in `pending`. */
  private appendOffsetValue = 0;
  private writtenOffsetValue = 0;
  private flushedOffsetValue = 0;
  private flushChain: Promise<void> = Promise.resolve();
  /** Set after an fsync error (or an unrepairable write error): no more appends. */
  private fatalError: Error | null = null;

  constructor(options: CommitLogOptions) {
    this.dir = options.dir;
    this.segmentSize = options.segmentSize ?? DEFAULT_COMMIT_LOG_SEGMENT_SIZE;
    if (!Number.isSafeInteger(this.segmentSize) || this.segmentSize < 4096) {
      throw new CommitLogError(`commitlog segment size must be an integer ≥ 4096, got ${this.segmentSize}`);
    }
    this.io = options.io ?? nodeFileIO;
    this.ops = options.fileOps ?? fileOpsOf(this.io);
  }

  /** First offset of the log (start of the oldest segment). */
  get minOffset(): number {
    return this.segments[0]?.start ?? this.writtenOffsetValue;
  }
  /** Offset the next record gets; includes pending bytes. */
  get maxOffset(): number {
    return this.appendOffsetValue;
  }
  get writtenOffset(): number {
    return this.writtenOffsetValue;
  }
  get flushedOffset(): number {
    return this.flushedOffsetValue;
  }
  get pendingBytes(): number {
    return this.pendingLength;
  }
  get failure(): Error | null {
    return this.fatalError;
  }
  get diskUsedBytes(): number {
    let total = 0;
    for (const s of this.segments) total += s.fileSize;
    return total;
  }
  segmentStartOf(offset: number): number {
    return offset - (offset % this.segmentSize);
  }

  /** Finds the segment files. Call `recover` next; until then the log is empty. */
  load(): void {
    this.io.mkdirSync(this.dir, { recursive: true });
    const names = this.io.readdirSync(this.dir).filter((n) => SEGMENT_NAME.test(n)).sort();
    this.segments = [];
    for (const name of names) {
      const start = Number(name);
      if (start % this.segmentSize !== 0) {
        throw new CommitLogError(`commitlog segment ${name} is not a multiple of the configured segment size ${this.segmentSize}`);
      }
      const p = path.join(this.dir, name);
      const size = this.io.statSync(p).size;
      // Unknown until recovery has checked (and fsynced) the part past the checkpoint.
      this.segments.push({ start, path: p, fd: null, fileSize: size, syncedSize: 0 });
    }
    const first = this.segments[0];
    this.appendOffsetValue = this.writtenOffsetValue = this.flushedOffsetValue = first ? first.start : 0;
  }

  /**
   * Walks the log from `from` (clamped to the log), verifying every record (layout, physical
   * offset, optionally the CRCs: whole-record trailer, required from `recordCrcRequiredFrom`, and body). A damaged record with valid records after it is reported and
   * skipped; the first damage with nothing valid after it is a torn tail and is cut off.
   * (CommitLog#recoverNormally/recoverAbnormally + MQDesk's "a bad record costs only itself".)
   */
  recover(options: RecoverOptions): CommitLogRecovery {
    const report: CommitLogRecovery = { scannedFrom: 0, endOffset: 0, records: 0, corruptRanges: [], removedSegments: [] };
    const last = this.segments[this.segments.length - 1];
    if (!last) {
      report.scannedFrom = report.endOffset = this.appendOffsetValue;
      return report;
    }
    const dataEnd = last.start + last.fileSize;
    let pos = options.from;
    if (!(pos >= this.minOffset && pos <= dataEnd)) pos = this.minOffset;
    report.scannedFrom = pos;

    const scanner = new SegmentScanner(this);
    let end = pos;
    for (;;) {
      const step = scanner.check(pos, options.checkCRC);
      if (step.kind === 'END') {
        end = pos;
        break;
      }
      if (step.kind === 'MESSAGE') {
        options.onRecord(step.info);
        report.records++;
        pos += step.info.size;
        continue;
      }
      if (step.kind === 'BLANK') {
        pos = this.segmentStartOf(pos) + this.segmentSize;
        continue;
      }
      // Damaged at pos: is there a valid record later?
      const next = scanner.resync(pos + 1);
      if (next < 0) {
        end = pos;
        const bytes = dataEnd - pos;
        if (bytes > 0) report.truncated = { from: pos, bytes, reason: step.reason };
        break;
      }
      report.corruptRanges.push({ from: pos, to: next, reason: step.reason });
      pos = next;
    }
    scanner.close();
    report.removedSegments = this.truncateTo(end);
    report.endOffset = end;
    // What survived may only be in the page cache (the process, not the OS, died): make it
    // durable before the checkpoint claims it.
    for (const seg of this.segments) {
      if (seg.start + seg.fileSize <= report.scannedFrom) {
        seg.syncedSize = seg.fileSize; // covered by the checkpoint
        continue;
      }
      const fd = this.io.openSync(seg.path, 'r');
      try {
        this.io.fdatasyncSync(fd);
      } finally {
        this.io.closeSync(fd);
      }
      seg.syncedSize = seg.fileSize;
    }
    this.flushedOffsetValue = end;
    return report;
  }

  /** Cuts the log at `offset` (a record boundary): the containing file is truncated, later files deleted. */
  truncateTo(offset: number): string[] {
    if (this.pendingLength > 0) throw new CommitLogError('truncate with pending writes');
    const removed: string[] = [];
    const keep: Segment[] = [];
    for (const s of this.segments) {
      if (s.start >= offset) {
        // Nothing valid in it; it is recreated when the log reaches it again.
        this.closeSegment(s);
        this.io.rmSync(s.path, { force: true });
        removed.push(path.basename(s.path));
        continue;
      }
      const keepBytes = Math.min(s.fileSize, offset - s.start);
      if (keepBytes < s.fileSize) {
        this.io.truncateSync(s.path, keepBytes);
        s.fileSize = keepBytes;
        s.syncedSize = Math.min(s.syncedSize, keepBytes);
      }
      keep.push(s);
    }
    this.segments = keep;
    this.appendOffsetValue = this.writtenOffsetValue = offset;
    this.flushedOffsetValue = Math.min(this.flushedOffsetValue, offset);
    return removed;
  }

  /** Whether a record of `size` bytes fits the current segment (with room left for a blank). */
  roomFor(size: number): RoomCheck {
    if (size + END_FILE_MIN_BLANK_LENGTH > this.segmentSize) return 'TOO_LARGE';
    const segmentEnd = this.segmentStartOf(this.appendOffsetValue) + this.segmentSize;
    return this.appendOffsetValue + size + END_FILE_MIN_BLANK_LENGTH > segmentEnd ? 'ROLL' : 'OK';
  }

  /**
   * Writes the end-of-segment blank and moves the append position to the next segment. The owner
   * writes pending records first (they belong to this segment). Returns an error if the blank
   * could not be written; the log is unchanged then.
   */
  rollSegment(): Error | null {
    if (this.pendingLength > 0) throw new CommitLogError('roll with pending writes');
    if (this.fatalError) return this.fatalError;
    const offset = this.appendOffsetValue;
    const segmentEnd = this.segmentStartOf(offset) + this.segmentSize;
    const blank = Buffer.allocUnsafe(END_FILE_MIN_BLANK_LENGTH);
    writeBlank(blank, 0, segmentEnd - offset);
    try {
      const seg = this.ensureSegment(offset);
      this.writeFully(seg, blank, blank.length, offset - seg.start);
      seg.fileSize = Math.max(seg.fileSize, offset - seg.start + blank.length);
    } catch (e) {
      this.repairAfterFailedWrite(offset);
      return e as Error;
    }
    this.appendOffsetValue = this.writtenOffsetValue = segmentEnd;
    return null;
  }

  /**
   * Encodes a record at the append position (into the pending buffer). The caller checked
   * `roomFor(size)` and `size` is the exact encoded size. Returns the record's physical offset.
   */
  append(input: Omit<RecordEncodeInput, 'physicalOffset'>, size: number): number {
    const physicalOffset = this.appendOffsetValue;
    const at = this.pendingLength;
    if (at + size > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.pending.length * 2, at + size));
      this.pending.copy(grown, 0, 0, at);
      this.pending = grown;
    }
    const written = writeStoredMessage(this.pending, at, input, physicalOffset);
    if (written !== size) {
      throw new CommitLogError(`encoded ${written} bytes, expected ${size}`);
    }
    this.pendingLength = at + size;
    this.appendOffsetValue = physicalOffset + size;
    return physicalOffset;
  }

  /**
   * HA, slave side (MessageStore#appendReplicated): copies one record the master already encoded
   * into the pending buffer at the append position, byte for byte. The caller checked that it is
   * a whole record whose physicalOffset field is `maxOffset` and that it fits this segment.
   */
  appendRaw(record: Buffer): number {
    const physicalOffset = this.appendOffsetValue;
    const at = this.pendingLength;
    if (at + record.length > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.pending.length * 2, at + record.length));
      this.pending.copy(grown, 0, 0, at);
      this.pending = grown;
    }
    record.copy(this.pending, at);
    this.pendingLength = at + record.length;
    this.appendOffsetValue = physicalOffset + record.length;
    return physicalOffset;
  }

  /** Writes everything pending with one positional write (looping on short writes). */
  writePending(): WriteOutcome {
    const length = this.pendingLength;
    if (length === 0) return { ok: true, bytes: 0 };
    const from = this.writtenOffsetValue;
    const to = this.appendOffsetValue;
    try {
      if (this.fatalError) throw this.fatalError;
      const seg = this.ensureSegment(from);
      this.writeFully(seg, this.pending, length, from - seg.start);
      seg.fileSize = Math.max(seg.fileSize, from - seg.start + length);
    } catch (e) {
      this.pendingLength = 0;
      this.appendOffsetValue = from;
      this.repairAfterFailedWrite(from);
      this.shrinkPending();
      return { ok: false, error: e as Error, droppedFrom: from, droppedTo: to };
    }
    this.pendingLength = 0;
    this.writtenOffsetValue = to;
    this.shrinkPending();
    return { ok: true, bytes: length };
  }

  /**
   * fsyncs every segment with unsynced bytes up to the written offset at the time this flush
   * starts. Calls are serialized. Rejects (and makes the log read-only) on an fsync error.
   */
  flush(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.fatalError) throw this.fatalError;
      const target = this.writtenOffsetValue;
      for (const seg of this.segments) {
        if (seg.start >= target) break;
        const upTo = Math.min(seg.fileSize, target - seg.start);
        if (upTo <= seg.syncedSize) continue;
        const isActive = seg === this.activeSegment();
        // Sealed segments are fsynced through a private descriptor so the read-descriptor LRU
        // can never close one under an fsync in flight.
        const fd = isActive ? this.fdFor(seg, true) : this.io.openSync(seg.path, 'r');
        try {
          await this.ops.fdatasync(fd);
        } catch (e) {
          this.fatalError = new CommitLogError(`fsync of ${seg.path} failed, commitlog is read-only: ${(e as Error).message}`);
          throw this.fatalError;
        } finally {
          if (!isActive) this.io.closeSync(fd);
        }
        seg.syncedSize = Math.max(seg.syncedSize, upTo);
      }
      this.flushedOffsetValue = Math.max(this.flushedOffsetValue, target);
    };
    const next = this.flushChain.then(run);
    this.flushChain = next.catch(() => undefined);
    return next;
  }

  /** Bytes [offset, offset + size) if they are all inside one segment and below maxOffset. */
  read(offset: number, size: number): Buffer | null {
    if (size <= 0 || offset < this.minOffset || offset + size > this.appendOffsetValue) return null;
    const segmentStart = this.segmentStartOf(offset);
    if (offset + size > segmentStart + this.segmentSize) return null;
    const out = Buffer.allocUnsafe(size);
    const written = this.writtenOffsetValue;
    let fileBytes = Math.max(0, Math.min(size, written - offset));
    if (fileBytes > 0) {
      const seg = this.findSegment(segmentStart);
      if (!seg) return null;
      const filePos = offset - seg.start;
      if (filePos + fileBytes > seg.fileSize) return null;
      let got = 0;
      while (got < fileBytes) {
        const n = this.io.readSync(this.fdFor(seg, false), out, got, fileBytes - got, filePos + got);
        if (n <= 0) return null;
        got += n;
      }
    } else {
      fileBytes = 0;
    }
    if (fileBytes < size) {
      // Not yet written: the pending buffer holds [writtenOffset, appendOffset).
      const from = offset + fileBytes - written;
      this.pending.copy(out, fileBytes, from, from + (size - fileBytes));
    }
    return out;
  }

  /** The whole record at `offset` (totalSize read first), or null if there is no message there. */
  readMessage(offset: number): Buffer | null {
    const head = this.read(offset, 8);
    if (!head) return null;
    const size = head.readInt32BE(0);
    const magic = head.readInt32BE(POS_MAGIC);
    if (magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) return null;
    if (size < 8) return null;
    const record = this.read(offset, size);
    if (!record || readInt64(record, POS_PHYSICAL_OFFSET) !== offset) return null;
    return record;
  }

  /** Store timestamp of the record at `offset`, or -1. */
  readStoreTimestamp(offset: number): number {
    const head = this.read(offset, 80);
    if (!head) return -1;
    const magic = head.readInt32BE(POS_MAGIC);
    if (magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) return -1;
    return readStoreTimestamp(head, 0);
  }

  /** Waits for flushes in flight, then closes descriptors. Pending bytes must be written first. */
  async close(): Promise<void> {
    await this.flushChain;
    for (const s of this.segments) this.closeSegment(s);
  }

  // -------------------------------------------------------------------------------------------
  // internals

  /** The segment file for `offset`, as raw access for the recovery scanner. */
  segmentFor(offset: number): { start: number; fd: number; fileSize: number } | null {
    const seg = this.findSegment(this.segmentStartOf(offset));
    if (!seg) return null;
    return { start: seg.start, fd: this.fdFor(seg, false), fileSize: seg.fileSize };
  }

  /** Start of the first segment file starting after `offset`, or -1. */
  nextSegmentStartAfter(offset: number): number {
    for (const s of this.segments) if (s.start > offset) return s.start;
    return -1;
  }

  private activeSegment(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    return last && last.start === this.segmentStartOf(this.writtenOffsetValue) ? last : undefined;
  }

  private findSegment(start: number): Segment | undefined {
    // Segments are few (1 GiB each) and reads mostly hit the newest: search from the end.
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i] as Segment;
      if (s.start === start) return s;
      if (s.start < start) return undefined;
    }
    return undefined;
  }

  private ensureSegment(offset: number): Segment {
    const start = this.segmentStartOf(offset);
    const existing = this.findSegment(start);
    if (existing) return existing;
    const last = this.segments[this.segments.length - 1];
    if (last && last.start > start) throw new CommitLogError(`cannot create segment ${start} before ${last.start}`);
    const p = path.join(this.dir, segmentFileName(start));
    const fd = this.io.openSync(p, 'w+');
    const seg: Segment = { start, path: p, fd, fileSize: 0, syncedSize: 0 };
    this.segments.push(seg);
    // The previous segment is sealed now: its descriptor joins the LRU.
    if (last && last.fd !== null) {
      this.openSealed.set(last, true);
      this.evictSealed();
    }
    return seg;
  }

  private fdFor(seg: Segment, writable: boolean): number {
    const active = seg === this.segments[this.segments.length - 1];
    if (seg.fd !== null) {
      if (!active) {
        this.openSealed.delete(seg);
        this.openSealed.set(seg, true);
      }
      return seg.fd;
    }
    seg.fd = this.io.openSync(seg.path, active || writable ? 'r+' : 'r');
    if (!active) {
      this.openSealed.set(seg, true);
      this.evictSealed();
    }
    return seg.fd;
  }

  private evictSealed(): void {
    while (this.openSealed.size > MAX_OPEN_SEALED_SEGMENTS) {
      const oldest = this.openSealed.keys().next().value as Segment;
      this.closeSegment(oldest);
    }
  }

  private closeSegment(seg: Segment): void {
    this.openSealed.delete(seg);
    if (seg.fd !== null) {
      this.io.closeSync(seg.fd);
      seg.fd = null;
    }
  }

  private writeFully(seg: Segment, buf: Buffer, length: number, filePos: number): void {
    const fd = this.fdFor(seg, true);
    let done = 0;
    while (done < length) {
      const n = this.ops.writeSync(fd, buf, done, length - done, filePos + done);
      if (n <= 0) throw new CommitLogError(`write returned ${n}`);
      done += n;
    }
  }

  /** Cuts a partially written tail back to `offset`; if even that fails the log goes read-only. */
  private repairAfterFailedWrite(offset: number): void {
    const seg = this.findSegment(this.segmentStartOf(offset));
    if (!seg) return;
    const keep = offset - seg.start;
    try {
      this.io.ftruncateSync(this.fdFor(seg, true), keep);
      seg.fileSize = keep;
      seg.syncedSize = Math.min(seg.syncedSize, keep);
    } catch (e) {
      this.fatalError = new CommitLogError(`could not cut a failed write back to ${offset}: ${(e as Error).message}`);
    }
  }

  private shrinkPending(): void {
    // A burst may have grown the buffer; do not keep a huge one around.
    if (this.pending.length > 16 * INITIAL_PENDING_CAPACITY) this.pending = Buffer.allocUnsafe(INITIAL_PENDING_CAPACITY);
  }
}

type ScanStep =
  | { kind: 'MESSAGE'; info: RecordInfo }
  | { kind: 'BLANK' }
  | { kind: 'END' }
  | { kind: 'CORRUPT'; reason: string };

const MAGIC_PREFIX = Buffer.from([0xda, 0xa3, 0x20]);

/** Chunked sequential reader over segment files, for recovery. */
class SegmentScanner {
  private chunk = Buffer.allocUnsafe(SCAN_CHUNK_SIZE);
  private chunkStart = -1;
  private chunkLength = 0;

  constructor(private readonly log: CommitLog) {}

  close(): void {
    this.chunk = Buffer.alloc(0);
  }

  /** Classifies the bytes at `pos`. */
  check(pos: number, checkCRC: boolean): ScanStep {
    const seg = this.log.segmentFor(pos);
    if (!seg) {
      // No file for this offset: either the end of the log, or a missing segment with later ones.
      return this.log.nextSegmentStartAfter(pos) < 0 ? { kind: 'END' } : { kind: 'CORRUPT', reason: 'missing segment file' };
    }
    const fileEnd = seg.start + seg.fileSize;
    if (pos >= fileEnd) {
      return this.log.nextSegmentStartAfter(pos) < 0 ? { kind: 'END' } : { kind: 'CORRUPT', reason: 'segment ends without a blank' };
    }
    if (!this.ensure(pos, Math.min(8, fileEnd - pos), seg)) return { kind: 'CORRUPT', reason: 'unreadable' };
    for (;;) {
      const rel = pos - this.chunkStart;
      const r = checkStoredRecord(this.chunk, rel, this.chunkLength, checkCRC, pos >= this.log.recordCrcRequiredFrom);
      if (r.kind === 'MESSAGE') {
        if (r.info.physicalOffset !== pos) return { kind: 'CORRUPT', reason: `physicalOffset field ${r.info.physicalOffset} at ${pos}` };
        return r;
      }
      if (r.kind === 'BLANK') {
        const segmentEnd = seg.start + this.log.segmentSize;
        if (pos + r.size !== segmentEnd) return { kind: 'CORRUPT', reason: `blank of ${r.size} bytes does not end the segment` };
        return { kind: 'BLANK' };
      }
      if (r.kind === 'CORRUPT') return r;
      // NEED_MORE
      if (pos + r.size > fileEnd) return { kind: 'CORRUPT', reason: `record of ${r.size} bytes runs past the end of the file (torn write)` };
      if (r.size > this.log.segmentSize) return { kind: 'CORRUPT', reason: `totalSize ${r.size}` };
      if (!this.ensure(pos, r.size, seg)) return { kind: 'CORRUPT', reason: 'unreadable' };
    }
  }

  /**
   * First offset ≥ from (in this or a later segment) holding a record that verifies fully and
   * whose physicalOffset field equals its position; -1 if none. A false match needs the magic, a
   * self-consistent layout, the right offset and matching CRCs (the whole-record one included) at once.
   */
  resync(from: number): number {
    let pos = from;
    for (;;) {
      const seg = this.log.segmentFor(pos);
      if (!seg) {
        const next = this.log.nextSegmentStartAfter(pos);
        if (next < 0) return -1;
        pos = next;
        continue;
      }
      const fileEnd = seg.start + seg.fileSize;
      while (pos < fileEnd) {
        if (!this.ensure(pos, Math.min(SCAN_CHUNK_SIZE, fileEnd - pos), seg)) return -1;
        const chunkStart = this.chunkStart;
        const chunkEnd = chunkStart + this.chunkLength;
        const view = this.chunk.subarray(0, this.chunkLength);
        // Collect candidates first: verifying one moves the chunk.
        const candidates: number[] = [];
        for (let hit = view.indexOf(MAGIC_PREFIX, pos + 4 - chunkStart); hit >= 0; hit = view.indexOf(MAGIC_PREFIX, hit + 1)) {
          if (hit + 4 > view.length) break;
          const fourth = view[hit + 3];
          if (fourth !== 0xa7 && fourth !== 0xab) continue;
          const candidate = chunkStart + hit - 4;
          // Magic sits 4 bytes into a record and the physicalOffset field 28 bytes in.
          if (hit + 32 <= view.length && readInt64(view, hit + 24) !== candidate) continue;
          candidates.push(candidate);
        }
        for (const candidate of candidates) {
          if (this.check(candidate, true).kind === 'MESSAGE') return candidate;
        }
        if (chunkEnd >= fileEnd) break;
        // Overlap so a record head straddling the chunk edge is seen whole next time.
        pos = Math.max(pos + 1, chunkEnd - 32);
      }
      const next = this.log.nextSegmentStartAfter(seg.start);
      if (next < 0) return -1;
      pos = next;
    }
  }

  /** Makes [pos, pos + length) available in the chunk. */
  private ensure(pos: number, length: number, seg: { start: number; fd: number; fileSize: number }): boolean {
    if (pos >= this.chunkStart && pos + length <= this.chunkStart + this.chunkLength && this.chunkStart >= 0) return true;
    const fileEnd = seg.start + seg.fileSize;
    const want = Math.max(length, Math.min(SCAN_CHUNK_SIZE, fileEnd - pos));
    if (want > this.chunk.length) this.chunk = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = this.log.io.readSync(seg.fd, this.chunk, got, want - got, pos - seg.start + got);
      if (n <= 0) break;
      got += n;
    }
    this.chunkStart = pos;
    this.chunkLength = got;
    return got >= length;
  }
}
