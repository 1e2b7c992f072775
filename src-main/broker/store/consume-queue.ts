/**
 * ConsumeQueue: the per (topic, queueId) index from queue offset to commitlog record. Upstream:
 * `store/.../ConsumeQueue.java`. Derived data: the dispatcher builds it from the commitlog and
 * recovery rebuilds it from there, so it carries no checksum.
 *
 * Entry (CQ_STORE_UNIT_SIZE = 20 bytes, big-endian):
 *
 *    0  commitLogOffset  i64
 *    8  size             i32   record size in the commitlog
 *   12  tagsCode         i64   tag hash (or a delivery time for delayed messages)
 *
 * Files: `<storeDir>/consumequeue/<topic>/<queueId>/<20-digit start byte offset>`, each holding
 * `entriesPerFile` entries, so queue offset L lives in file floor(L / entriesPerFile) at byte
 * (L mod entriesPerFile) * 20. An all-zero entry (size 0) is a hole: the queue started after 0,
 * or a gap was left by a lost file; readers skip holes.
 *
 * Memory stays flat: only min/max offsets and the not-yet-written tail live in memory; entries are
 * read back from the files (page cache).
 */
import path from 'node:path';
import { fdatasyncPath, nodeFileIO, writeFullySync, type FileIO } from './io/file-io.js';
import { readInt64, writeInt64 } from './message-codec.js';

export const CQ_STORE_UNIT_SIZE = 20;
export const DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE = 300_000;
const FILE_NAME = /^\d{20}$/;
const INITIAL_PENDING_ENTRIES = 64;

export interface ConsumeQueueEntry {
  queueOffset: number;
  commitLogOffset: number;
  size: number;
  tagsCode: number;
}

/** A bounded LRU of read/write descriptors shared by every consume queue (thousands of queues, few fds). */
export class FileDescriptorCache {
  private readonly fds = new Map<string, number>();
  constructor(private readonly capacity = 128, readonly io: FileIO = nodeFileIO) {}

  /** Descriptor for an existing file, or null. */
  open(filePath: string): number | null {
    return this.get(filePath, false);
  }

  /** Descriptor for the file, creating it (and its directory) when missing. */
  openForWrite(filePath: string): number {
    return this.get(filePath, true) as number;
  }

  close(filePath: string): void {
    const fd = this.fds.get(filePath);
    if (fd === undefined) return;
    this.fds.delete(filePath);
    this.io.closeSync(fd);
  }

  closeUnder(dir: string): void {
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const p of [...this.fds.keys()]) if (p.startsWith(prefix)) this.close(p);
  }

  closeAll(): void {
    for (const p of [...this.fds.keys()]) this.close(p);
  }

  private get(filePath: string, create: boolean): number | null {
    const cached = this.fds.get(filePath);
    if (cached !== undefined) {
      this.fds.delete(filePath);
      this.fds.set(filePath, cached);
      return cached;
    }
    let fd: number;
    try {
      fd = this.io.openSync(filePath, 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!create) return null;
      this.io.mkdirSync(path.dirname(filePath), { recursive: true });
      fd = this.io.openSync(filePath, 'w+');
    }
    this.fds.set(filePath, fd);
    if (this.fds.size > this.capacity) {
      const oldest = this.fds.keys().next().value as string;
      this.close(oldest);
    }
    return fd;
  }
}

export interface ConsumeQueueOptions {
  /** `<storeDir>/consumequeue` */
  rootDir: string;
  topic: string;
  queueId: number;
  entriesPerFile?: number;
  fds: FileDescriptorCache;
}

export type PutOutcome = 'APPENDED' | 'DUPLICATE' | 'REPAIRED' | 'GAP';

export interface ConsumeQueueLoadReport {
  /** Bytes cut from the tail (a partial entry, or trailing zero entries). */
  truncatedBytes: number;
}

export class ConsumeQueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsumeQueueError';
  }
}

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly dir: string;
  readonly entriesPerFile: number;
  private readonly fileBytes: number;
  private readonly fds: FileDescriptorCache;
  private readonly io: FileIO;

  private minOffsetValue = 0;
  /** One past the last entry, pending included. */
  private maxOffsetValue = 0;
  /** Entries below this are in the files. */
  private writtenOffset = 0;
  /** commitLogOffset + size of the last entry (0 when empty). */
  private maxPhysicOffsetValue = 0;
  private pending: Buffer | null = null;
  /** File indexes written since their last fsync. */
  private readonly dirtyFiles = new Set<number>();

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.dir = path.join(options.rootDir, options.topic, String(options.queueId));
    this.entriesPerFile = options.entriesPerFile ?? DEFAULT_CONSUME_QUEUE_ENTRIES_PER_FILE;
    if (!Number.isSafeInteger(this.entriesPerFile) || this.entriesPerFile < 1) {
      throw new ConsumeQueueError(`entries per file must be a positive integer, got ${this.entriesPerFile}`);
    }
    this.fileBytes = this.entriesPerFile * CQ_STORE_UNIT_SIZE;
    this.fds = options.fds;
    this.io = options.fds.io;
  }

  get minOffset(): number {
    return this.minOffsetValue;
  }
  get maxOffset(): number {
    return this.maxOffsetValue;
  }
  get maxPhysicOffset(): number {
    return this.maxPhysicOffsetValue;
  }
  get hasPending(): boolean {
    return this.maxOffsetValue > this.writtenOffset;
  }
  get isDirty(): boolean {
    return this.dirtyFiles.size > 0 || this.hasPending;
  }
  /** Bytes of the files (holes included). */
  get diskBytes(): number {
    const firstFile = Math.floor(this.minOffsetValue / this.entriesPerFile);
    return (this.writtenOffset - firstFile * this.entriesPerFile) * CQ_STORE_UNIT_SIZE;
  }

  filePath(fileIndex: number): string {
    return path.join(this.dir, String(fileIndex * this.fileBytes).padStart(20, '0'));
  }

  /**
   * Reads the files' extent (ConsumeQueue#load + #recover): cuts a partial entry and trailing
   * zero entries from the tail, finds the first non-hole entry.
   */
  load(): ConsumeQueueLoadReport {
    const report: ConsumeQueueLoadReport = { truncatedBytes: 0 };
    let names: string[] = [];
    try {
      names = this.io.readdirSync(this.dir).filter((n) => FILE_NAME.test(n)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const files: number[] = [];
    for (const name of names) {
      const start = Number(name);
      if (start % this.fileBytes !== 0) {
        throw new ConsumeQueueError(`${path.join(this.dir, name)} does not match ${this.entriesPerFile} entries per file`);
      }
      files.push(start / this.fileBytes);
    }
    // Tail: drop partial and zero entries; an emptied file is removed and the previous one checked.
    let maxOffset = 0;
    let lastEntry: ConsumeQueueEntry | null = null;
    while (files.length > 0) {
      const index = files[files.length - 1] as number;
      const p = this.filePath(index);
      let size = this.io.statSync(p).size;
      let keep = Math.min(size - (size % CQ_STORE_UNIT_SIZE), this.fileBytes);
      const fd = this.fds.openForWrite(p);
      const buf = Buffer.allocUnsafe(CQ_STORE_UNIT_SIZE);
      while (keep > 0) {
        this.io.readSync(fd, buf, 0, CQ_STORE_UNIT_SIZE, keep - CQ_STORE_UNIT_SIZE);
        if (buf.readInt32BE(8) > 0) {
          lastEntry = { queueOffset: 0, commitLogOffset: readInt64(buf, 0), size: buf.readInt32BE(8), tagsCode: readInt64(buf, 12) };
          break;
        }
        keep -= CQ_STORE_UNIT_SIZE;
      }
      if (keep < size) {
        report.truncatedBytes += size - keep;
        this.io.ftruncateSync(fd, keep);
        size = keep;
      }
      if (keep === 0) {
        this.fds.close(p);
        this.io.rmSync(p, { force: true });
        files.pop();
        continue;
      }
      maxOffset = index * this.entriesPerFile + keep / CQ_STORE_UNIT_SIZE;
      break;
    }
    if (files.length === 0 || !lastEntry) {
      this.minOffsetValue = this.maxOffsetValue = this.writtenOffset = 0;
      this.maxPhysicOffsetValue = 0;
      return report;
    }
    this.maxOffsetValue = this.writtenOffset = maxOffset;
    this.maxPhysicOffsetValue = lastEntry.commitLogOffset + lastEntry.size;
    this.minOffsetValue = this.findFirstEntry(files, maxOffset);
    return report;
  }

  /**
   * Adds the entry for `queueOffset` (the dispatcher calls this in log order). An offset already
   * present is skipped, or with `verifyExisting` (recovery) compared and rewritten if it differs.
   * An offset past the end leaves a hole (logged by the caller).
   */
  put(queueOffset: number, commitLogOffset: number, size: number, tagsCode: number, verifyExisting = false): PutOutcome {
    if (queueOffset < this.maxOffsetValue) {
      if (!verifyExisting || queueOffset < this.minOffsetValue) return 'DUPLICATE';
      const existing = this.readEntry(queueOffset);
      if (existing && existing.commitLogOffset === commitLogOffset && existing.size === size && existing.tagsCode === tagsCode) {
        return 'DUPLICATE';
      }
      this.overwrite(queueOffset, commitLogOffset, size, tagsCode);
      return 'REPAIRED';
    }
    let outcome: PutOutcome = 'APPENDED';
    if (queueOffset > this.maxOffsetValue) {
      const error = this.commit();
      if (error) throw error;
      if (this.minOffsetValue === this.maxOffsetValue) this.minOffsetValue = queueOffset;
      this.maxOffsetValue = this.writtenOffset = queueOffset;
      outcome = this.minOffsetValue === queueOffset ? 'APPENDED' : 'GAP';
    }
    const at = (this.maxOffsetValue - this.writtenOffset) * CQ_STORE_UNIT_SIZE;
    if (!this.pending) this.pending = Buffer.allocUnsafe(INITIAL_PENDING_ENTRIES * CQ_STORE_UNIT_SIZE);
    if (at + CQ_STORE_UNIT_SIZE > this.pending.length) {
      const grown = Buffer.allocUnsafe(this.pending.length * 2);
      this.pending.copy(grown, 0, 0, at);
      this.pending = grown;
    }
    encodeEntry(this.pending, at, commitLogOffset, size, tagsCode);
    this.maxOffsetValue++;
    this.maxPhysicOffsetValue = Math.max(this.maxPhysicOffsetValue, commitLogOffset + size);
    return outcome;
  }

  /** Writes pending entries to their files. On error they stay pending (the next commit retries). */
  commit(): Error | null {
    if (this.maxOffsetValue === this.writtenOffset || !this.pending) return null;
    let offset = this.writtenOffset;
    let bufPos = 0;
    let error: Error | null = null;
    try {
      while (offset < this.maxOffsetValue) {
        const fileIndex = Math.floor(offset / this.entriesPerFile);
        const count = Math.min((fileIndex + 1) * this.entriesPerFile, this.maxOffsetValue) - offset;
        const fd = this.fds.openForWrite(this.filePath(fileIndex));
        const position = (offset - fileIndex * this.entriesPerFile) * CQ_STORE_UNIT_SIZE;
        writeFully(this.io, fd, this.pending, bufPos, count * CQ_STORE_UNIT_SIZE, position);
        this.dirtyFiles.add(fileIndex);
        offset += count;
        bufPos += count * CQ_STORE_UNIT_SIZE;
      }
    } catch (e) {
      error = e as Error;
    }
    if (error && bufPos > 0) {
      // Keep pending[0] aligned with writtenOffset.
      this.pending.copy(this.pending, 0, bufPos, (this.maxOffsetValue - this.writtenOffset) * CQ_STORE_UNIT_SIZE);
    }
    this.writtenOffset = offset;
    if (!error && this.pending.length > 4096 * CQ_STORE_UNIT_SIZE) this.pending = null;
    return error;
  }

  /** Entries [offset, offset + maxCount) clamped to [min, max); holes come back with size 0. */
  read(offset: number, maxCount: number): ConsumeQueueEntry[] {
    const from = Math.max(offset, this.minOffsetValue);
    const to = Math.min(this.maxOffsetValue, from + Math.max(0, maxCount));
    const out: ConsumeQueueEntry[] = [];
    if (from >= to) return out;
    const buf = this.readRaw(from, to - from);
    for (let i = 0; i < to - from; i++) {
      const p = i * CQ_STORE_UNIT_SIZE;
      out.push({ queueOffset: from + i, commitLogOffset: readInt64(buf, p), size: buf.readInt32BE(p + 8), tagsCode: readInt64(buf, p + 12) });
    }
    return out;
  }

  readEntry(offset: number): ConsumeQueueEntry | null {
    if (offset < this.minOffsetValue || offset >= this.maxOffsetValue) return null;
    return this.read(offset, 1)[0] ?? null;
  }

  /**
   * Drops entries whose record ends past `commitLogEnd` (ConsumeQueue#truncateDirtyLogicFiles),
   * after the commitlog was cut. Returns how many entries were dropped.
   */
  truncateDirty(commitLogEnd: number): number {
    if (this.maxPhysicOffsetValue <= commitLogEnd) return 0;
    const error = this.commit();
    if (error) throw error;
    let newMax = this.maxOffsetValue;
    const block = 1024;
    scan: while (newMax > this.minOffsetValue) {
      const from = Math.max(this.minOffsetValue, newMax - block);
      const entries = this.read(from, newMax - from);
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i] as ConsumeQueueEntry;
        if (e.size > 0 && e.commitLogOffset + e.size <= commitLogEnd) {
          this.maxPhysicOffsetValue = e.commitLogOffset + e.size;
          break scan;
        }
        newMax = e.queueOffset; // past the new end, or a hole at the tail
      }
      if (from === this.minOffsetValue) break;
    }
    const dropped = this.maxOffsetValue - newMax;
    this.cutFilesAt(newMax);
    if (newMax <= this.minOffsetValue) {
      this.minOffsetValue = newMax;
      this.maxPhysicOffsetValue = 0;
    }
    this.maxOffsetValue = this.writtenOffset = newMax;
    return dropped;
  }

  /**
   * First queue offset whose message was stored at or after `timestamp` (lower boundary);
   * maxOffset if none. `storeTimeOf` reads the record's store time from the commitlog (-1 = unreadable).
   */
  offsetByTime(timestamp: number, storeTimeOf: (commitLogOffset: number, size: number) => number): number {
    let low = this.minOffsetValue;
    let high = this.maxOffsetValue;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      // Holes and unreadable records carry no time: judge by the next real entry.
      let probe = mid;
      let time = -1;
      while (probe < high) {
        const e = this.readEntry(probe);
        if (e && e.size > 0) {
          time = storeTimeOf(e.commitLogOffset, e.size);
          if (time >= 0) break;
        }
        probe++;
      }
      if (probe >= high) {
        high = mid;
      } else if (time >= timestamp) {
        high = mid;
      } else {
        low = probe + 1;
      }
    }
    return low;
  }

  /** fsyncs files written since the last flush (through private descriptors). */
  async flush(): Promise<void> {
    const files = [...this.dirtyFiles];
    this.dirtyFiles.clear();
    for (const index of files) {
      try {
        await fdatasyncPath(this.io, this.filePath(index));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
        this.dirtyFiles.add(index);
        throw e;
      }
    }
  }

  /** Removes the queue's files (topic deletion). */
  destroy(): void {
    this.fds.closeUnder(this.dir);
    this.io.rmSync(this.dir, { recursive: true, force: true });
    this.pending = null;
    this.dirtyFiles.clear();
    this.minOffsetValue = this.maxOffsetValue = this.writtenOffset = this.maxPhysicOffsetValue = 0;
  }

  // -------------------------------------------------------------------------------------------

  private findFirstEntry(files: number[], maxOffset: number): number {
    const chunkEntries = 4096;
    const buf = Buffer.allocUnsafe(chunkEntries * CQ_STORE_UNIT_SIZE);
    for (const index of files) {
      const fd = this.fds.open(this.filePath(index));
      if (fd === null) continue;
      const base = index * this.entriesPerFile;
      const end = Math.min(maxOffset, base + this.entriesPerFile);
      for (let offset = base; offset < end; offset += chunkEntries) {
        const n = Math.min(chunkEntries, end - offset);
        const got = this.io.readSync(fd, buf, 0, n * CQ_STORE_UNIT_SIZE, (offset - base) * CQ_STORE_UNIT_SIZE);
        for (let i = 0; i * CQ_STORE_UNIT_SIZE < got; i++) {
          if (buf.readInt32BE(i * CQ_STORE_UNIT_SIZE + 8) > 0) return offset + i;
        }
      }
    }
    return maxOffset;
  }

  /** Raw entries [from, from + count), all within [min, max). Missing file bytes read as holes. */
  private readRaw(from: number, count: number): Buffer {
    const out = Buffer.alloc(count * CQ_STORE_UNIT_SIZE);
    let offset = from;
    const writtenEnd = Math.min(from + count, this.writtenOffset);
    while (offset < writtenEnd) {
      const fileIndex = Math.floor(offset / this.entriesPerFile);
      const fileEnd = (fileIndex + 1) * this.entriesPerFile;
      const n = Math.min(fileEnd, writtenEnd) - offset;
      const fd = this.fds.open(this.filePath(fileIndex));
      if (fd !== null) {
        const target = (offset - from) * CQ_STORE_UNIT_SIZE;
        let got = 0;
        const want = n * CQ_STORE_UNIT_SIZE;
        const position = (offset - fileIndex * this.entriesPerFile) * CQ_STORE_UNIT_SIZE;
        while (got < want) {
          const r = this.io.readSync(fd, out, target + got, want - got, position + got);
          if (r <= 0) break; // past the file's end: a hole
          got += r;
        }
      }
      offset += n;
    }
    if (from + count > this.writtenOffset && this.pending) {
      const pendingFrom = Math.max(from, this.writtenOffset);
      this.pending.copy(
        out,
        (pendingFrom - from) * CQ_STORE_UNIT_SIZE,
        (pendingFrom - this.writtenOffset) * CQ_STORE_UNIT_SIZE,
        (from + count - this.writtenOffset) * CQ_STORE_UNIT_SIZE,
      );
    }
    return out;
  }

  private overwrite(queueOffset: number, commitLogOffset: number, size: number, tagsCode: number): void {
    if (queueOffset >= this.writtenOffset && this.pending) {
      encodeEntry(this.pending, (queueOffset - this.writtenOffset) * CQ_STORE_UNIT_SIZE, commitLogOffset, size, tagsCode);
      return;
    }
    const b = Buffer.allocUnsafe(CQ_STORE_UNIT_SIZE);
    encodeEntry(b, 0, commitLogOffset, size, tagsCode);
    const fileIndex = Math.floor(queueOffset / this.entriesPerFile);
    const fd = this.fds.openForWrite(this.filePath(fileIndex));
    writeFully(this.io, fd, b, 0, CQ_STORE_UNIT_SIZE, (queueOffset - fileIndex * this.entriesPerFile) * CQ_STORE_UNIT_SIZE);
    this.dirtyFiles.add(fileIndex);
  }

  /** Deletes files past `offset` and truncates the one containing it. */
  private cutFilesAt(offset: number): void {
    let names: string[] = [];
    try {
      names = this.io.readdirSync(this.dir).filter((n) => FILE_NAME.test(n));
    } catch {
      return;
    }
    const keepBytes = offset * CQ_STORE_UNIT_SIZE;
    for (const name of names) {
      const start = Number(name);
      const p = path.join(this.dir, name);
      if (start >= keepBytes) {
        this.fds.close(p);
        this.io.rmSync(p, { force: true });
        this.dirtyFiles.delete(start / this.fileBytes);
      } else if (start + this.fileBytes > keepBytes) {
        const fd = this.fds.openForWrite(p);
        if (this.io.fstatSync(fd).size > keepBytes - start) this.io.ftruncateSync(fd, keepBytes - start);
      }
    }
  }
}

function encodeEntry(buf: Buffer, pos: number, commitLogOffset: number, size: number, tagsCode: number): void {
  writeInt64(buf, commitLogOffset, pos);
  buf.writeInt32BE(size, pos + 8);
  writeInt64(buf, tagsCode, pos + 12);
}

function writeFully(io: FileIO, fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  try {
    writeFullySync(io, fd, buf, offset, length, position);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    throw new ConsumeQueueError((e as Error).message);
  }
}
