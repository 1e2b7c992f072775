/**
 * IndexFile / IndexService: an on-disk hash index from message key to commitlog offset, for
 * query by key, unique id and time. Upstream: `store/.../index/IndexFile.java`,
 * `IndexHeader.java`, `IndexService.java`. Derived data, rebuilt from the commitlog.
 *
 * File layout (big-endian), `<storeDir>/index/<yyyyMMddHHmmssSSS creation time, UTC>`:
 *
 *   header (40 bytes)
 *      0  beginTimestamp  i64   store time of the first entry
 *      8  endTimestamp    i64   store time of the last entry
 *     16  beginPhyOffset  i64   commitlog offset of the first entry
 *     24  endPhyOffset    i64   commitlog offset of the last entry
 *     32  hashSlotCount   i32   slots in use
 *     36  indexCount      i32   next entry number (starts at 1: entry 0 means "none")
 *   slots (hashSlotNum × 4 bytes): number of the newest entry whose key hashes there, 0 = empty
 *   entries (maxEntries × 20 bytes), entry n at 40 + hashSlotNum*4 + n*20:
 *      0  keyHash   i32   |javaHash("topic#key")|
 *      4  phyOffset i64
 *     12  timeDiff  i32   seconds since beginTimestamp
 *     16  prevIndex i32   previous entry in the same slot (a chain, newest first), 0 = end
 *
 * Files are created at full length with ftruncate (sparse) and written as they fill. The file
 * being filled lives in memory (its untouched pages cost nothing) and is written out on flush;
 * full files are read from disk. Hashes collide: callers re-check the key on the message.
 */
import path from 'node:path';
import { fdatasyncPath, nodeFileIO, writeFullySync, type FileIO } from './io/file-io.js';
import { javaStringHashCode, readInt64, writeInt64 } from './message-codec.js';

export const INDEX_HEADER_SIZE = 40;
export const INDEX_SLOT_SIZE = 4;
export const INDEX_ENTRY_SIZE = 20;
export const DEFAULT_INDEX_SLOT_NUM = 100_000;
export const DEFAULT_INDEX_MAX_ENTRIES = 400_000;
const FILE_NAME = /^\d{17}$/;
const PAGE = 4096;

/** IndexService#buildKey */
export function indexKey(topic: string, key: string): string {
  return `${topic}#${key}`;
}

/** IndexFile#indexKeyHashMethod: Math.abs of the Java hash, Integer.MIN_VALUE → 0. */
export function indexKeyHash(key: string): number {
  const h = javaStringHashCode(key);
  return h === -2147483648 ? 0 : Math.abs(h);
}

export function indexFileSize(slotNum: number, maxEntries: number): number {
  return INDEX_HEADER_SIZE + slotNum * INDEX_SLOT_SIZE + maxEntries * INDEX_ENTRY_SIZE;
}

function timestampName(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`;
}

interface IndexHeader {
  beginTimestamp: number;
  endTimestamp: number;
  beginPhyOffset: number;
  endPhyOffset: number;
  hashSlotCount: number;
  indexCount: number;
}

function readHeader(b: Buffer, pos = 0): IndexHeader {
  return {
    beginTimestamp: readInt64(b, pos),
    endTimestamp: readInt64(b, pos + 8),
    beginPhyOffset: readInt64(b, pos + 16),
    endPhyOffset: readInt64(b, pos + 24),
    hashSlotCount: b.readInt32BE(pos + 32),
    indexCount: b.readInt32BE(pos + 36),
  };
}

function writeHeader(b: Buffer, h: IndexHeader): void {
  writeInt64(b, h.beginTimestamp, 0);
  writeInt64(b, h.endTimestamp, 8);
  writeInt64(b, h.beginPhyOffset, 16);
  writeInt64(b, h.endPhyOffset, 24);
  b.writeInt32BE(h.hashSlotCount, 32);
  b.writeInt32BE(h.indexCount, 36);
}

/** One index file. Mutable while it is the newest; sealed (read-only) once full. */
export class IndexFile {
  readonly header: IndexHeader;
  private memory: Buffer | null;
  /** Entries below this number are on disk. */
  private flushedCount: number;
  private readonly dirtySlotPages = new Set<number>();
  private headerDirty = false;
  private existsOnDisk: boolean;
  sealed = false;

  private constructor(
    readonly io: FileIO,
    readonly filePath: string,
    readonly slotNum: number,
    readonly maxEntries: number,
    header: IndexHeader,
    memory: Buffer | null,
    existsOnDisk: boolean,
  ) {
    this.header = header;
    this.memory = memory;
    this.flushedCount = header.indexCount;
    this.existsOnDisk = existsOnDisk;
  }

  static create(io: FileIO, filePath: string, slotNum: number, maxEntries: number): IndexFile {
    const header: IndexHeader = { beginTimestamp: 0, endTimestamp: 0, beginPhyOffset: 0, endPhyOffset: 0, hashSlotCount: 0, indexCount: 1 };
    const file = new IndexFile(io, filePath, slotNum, maxEntries, header, Buffer.alloc(indexFileSize(slotNum, maxEntries)), false);
    file.flushedCount = 1;
    file.headerDirty = true;
    return file;
  }

  /** Opens an existing file; null (with the reason) if its size or header does not fit the configuration. */
  static open(io: FileIO, filePath: string, slotNum: number, maxEntries: number, intoMemory: boolean): IndexFile | string {
    const expected = indexFileSize(slotNum, maxEntries);
    const size = io.statSync(filePath).size;
    if (size !== expected) return `size ${size}, expected ${expected} for ${slotNum} slots × ${maxEntries} entries`;
    const fd = io.openSync(filePath, 'r');
    try {
      const head = Buffer.alloc(INDEX_HEADER_SIZE);
      io.readSync(fd, head, 0, INDEX_HEADER_SIZE, 0);
      const header = readHeader(head);
      if (header.indexCount < 1 || header.indexCount > maxEntries || header.hashSlotCount < 0 || header.hashSlotCount > slotNum) {
        return `bad header (indexCount ${header.indexCount}, hashSlotCount ${header.hashSlotCount})`;
      }
      let memory: Buffer | null = null;
      if (intoMemory) {
        memory = Buffer.alloc(expected);
        // Only the used part: pages of the unused entry region stay untouched (sparse in RAM too).
        const used = INDEX_HEADER_SIZE + slotNum * INDEX_SLOT_SIZE + header.indexCount * INDEX_ENTRY_SIZE;
        let got = 0;
        while (got < used) {
          const n = io.readSync(fd, memory, got, used - got, got);
          if (n <= 0) break;
          got += n;
        }
      }
      return new IndexFile(io, filePath, slotNum, maxEntries, header, memory, true);
    } finally {
      io.closeSync(fd);
    }
  }

  get isFull(): boolean {
    return this.header.indexCount >= this.maxEntries;
  }
  get inMemory(): boolean {
    return this.memory !== null;
  }
  get needsFlush(): boolean {
    return this.headerDirty || this.dirtySlotPages.size > 0 || this.flushedCount < this.header.indexCount;
  }

  /** IndexFile#putKey. False when full (the service rolls to a new file). */
  putKey(keyHash: number, phyOffset: number, storeTimestamp: number): boolean {
    const mem = this.memory;
    if (!mem || this.sealed) throw new Error(`index file ${this.filePath} is read-only`);
    if (this.isFull) return false;
    const h = this.header;
    const slotPos = INDEX_HEADER_SIZE + (keyHash % this.slotNum) * INDEX_SLOT_SIZE;
    let slotValue = mem.readInt32BE(slotPos);
    if (slotValue <= 0 || slotValue > h.indexCount) slotValue = 0;
    let timeDiff = h.beginTimestamp <= 0 ? 0 : Math.floor((storeTimestamp - h.beginTimestamp) / 1000);
    timeDiff = Math.max(0, Math.min(timeDiff, 0x7fffffff));
    const entryPos = INDEX_HEADER_SIZE + this.slotNum * INDEX_SLOT_SIZE + h.indexCount * INDEX_ENTRY_SIZE;
    mem.writeInt32BE(keyHash, entryPos);
    writeInt64(mem, phyOffset, entryPos + 4);
    mem.writeInt32BE(timeDiff, entryPos + 12);
    mem.writeInt32BE(slotValue, entryPos + 16);
    mem.writeInt32BE(h.indexCount, slotPos);
    this.dirtySlotPages.add(Math.floor(slotPos / PAGE));
    if (h.indexCount <= 1) {
      h.beginPhyOffset = phyOffset;
      h.beginTimestamp = storeTimestamp;
    }
    if (slotValue === 0) h.hashSlotCount++;
    h.indexCount++;
    h.endPhyOffset = phyOffset;
    h.endTimestamp = storeTimestamp;
    this.headerDirty = true;
    return true;
  }

  /** Whether [begin, end] overlaps the file's time span (entries carry whole seconds: 1 s slack). */
  isTimeMatched(begin: number, end: number): boolean {
    return this.header.indexCount > 1 && this.header.endTimestamp >= begin - 1000 && this.header.beginTimestamp <= end;
  }

  /**
   * IndexFile#selectPhyOffset: walks the key's chain newest first, calling `visit` for entries
   * with the same hash stored in [begin - 1 s, end]; stops when `visit` returns false.
   */
  selectPhyOffsets(keyHash: number, begin: number, end: number, visit: (phyOffset: number) => boolean): boolean {
    const h = this.header;
    if (h.indexCount <= 1) return true;
    const reader = this.reader();
    try {
      const slotBytes = reader(INDEX_HEADER_SIZE + (keyHash % this.slotNum) * INDEX_SLOT_SIZE, INDEX_SLOT_SIZE);
      let next = slotBytes.readInt32BE(0);
      const earliest = begin - 1000;
      for (let steps = 0; next > 0 && next < h.indexCount && steps < h.indexCount; steps++) {
        const e = reader(INDEX_HEADER_SIZE + this.slotNum * INDEX_SLOT_SIZE + next * INDEX_ENTRY_SIZE, INDEX_ENTRY_SIZE);
        const timeDiff = e.readInt32BE(12);
        if (timeDiff < 0) break;
        const timeRead = h.beginTimestamp + timeDiff * 1000;
        if (e.readInt32BE(0) === keyHash && timeRead >= earliest && timeRead <= end) {
          if (!visit(readInt64(e, 4))) return false;
        }
        const prev = e.readInt32BE(16);
        if (prev <= 0 || prev >= next || timeRead < earliest) break;
        next = prev;
      }
      return true;
    } finally {
      reader.close();
    }
  }

  /**
   * Writes what changed since the last call (entries, then slots, then header) with plain
   * writes; `fsync()` makes it durable. A sealed file drops its memory once fsynced.
   */
  writeDirty(): void {
    const mem = this.memory;
    if (!mem || !this.needsFlush) return;
    const fd = this.io.openSync(this.filePath, this.existsOnDisk ? 'r+' : 'w+');
    try {
      if (!this.existsOnDisk) {
        this.io.ftruncateSync(fd, mem.length);
        this.existsOnDisk = true;
      }
      const entriesBase = INDEX_HEADER_SIZE + this.slotNum * INDEX_SLOT_SIZE;
      const count = this.header.indexCount;
      if (this.flushedCount < count) {
        const from = entriesBase + this.flushedCount * INDEX_ENTRY_SIZE;
        writeFully(this.io, fd, mem, from, entriesBase + count * INDEX_ENTRY_SIZE - from);
      }
      const slotsEnd = entriesBase;
      for (const page of [...this.dirtySlotPages].sort((a, b) => a - b)) {
        const from = Math.max(INDEX_HEADER_SIZE, page * PAGE);
        const to = Math.min(slotsEnd, (page + 1) * PAGE);
        if (to > from) writeFully(this.io, fd, mem, from, to - from);
      }
      writeHeader(mem, this.header);
      writeFully(this.io, fd, mem, 0, INDEX_HEADER_SIZE);
      this.flushedCount = count;
      this.dirtySlotPages.clear();
      this.headerDirty = false;
    } finally {
      this.io.closeSync(fd);
    }
  }

  async fsync(): Promise<void> {
    if (!this.existsOnDisk) return;
    await fdatasyncPath(this.io, this.filePath);
    if (this.sealed && !this.needsFlush) this.memory = null;
  }

  fsyncSync(): void {
    if (!this.existsOnDisk) return;
    const fd = this.io.openSync(this.filePath, 'r');
    try {
      this.io.fdatasyncSync(fd);
    } finally {
      this.io.closeSync(fd);
    }
    if (this.sealed && !this.needsFlush) this.memory = null;
  }

  private reader(): ((pos: number, length: number) => Buffer) & { close(): void } {
    const mem = this.memory;
    if (mem) {
      const fn = ((pos: number, length: number) => mem.subarray(pos, pos + length)) as ((pos: number, length: number) => Buffer) & { close(): void };
      fn.close = () => undefined;
      return fn;
    }
    const fd = this.io.openSync(this.filePath, 'r');
    const buf = Buffer.alloc(INDEX_ENTRY_SIZE);
    const fn = ((pos: number, length: number) => {
      buf.fill(0);
      this.io.readSync(fd, buf, 0, length, pos);
      return buf;
    }) as ((pos: number, length: number) => Buffer) & { close(): void };
    fn.close = () => this.io.closeSync(fd);
    return fn;
  }
}

export interface IndexServiceOptions {
  /** `<storeDir>/index` */
  dir: string;
  slotNum?: number;
  maxEntries?: number;
  io?: FileIO;
}

export interface IndexLoadReport {
  files: number;
  /** Files removed because they could not be trusted; their records are indexed again. */
  deletedFiles: { name: string; reason: string }[];
  /**
   * Where re-indexing must start: null = nothing lost (use the checkpoint), -1 = from the start
   * of the commitlog, else the commitlog offset of the last record the kept files cover.
   */
  resumeFrom: number | null;
}

export class IndexService {
  readonly dir: string;
  readonly slotNum: number;
  readonly maxEntries: number;
  readonly io: FileIO;
  private files: IndexFile[] = [];
  /** Records at or below this commitlog offset are already indexed. */
  private lastIndexedPhyOffset = -1;

  constructor(options: IndexServiceOptions) {
    this.dir = options.dir;
    this.slotNum = options.slotNum ?? DEFAULT_INDEX_SLOT_NUM;
    this.maxEntries = options.maxEntries ?? DEFAULT_INDEX_MAX_ENTRIES;
    this.io = options.io ?? nodeFileIO;
    if (!Number.isSafeInteger(this.slotNum) || this.slotNum < 1) throw new Error(`index slot count must be ≥ 1, got ${this.slotNum}`);
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 2) throw new Error(`index entries must be ≥ 2, got ${this.maxEntries}`);
  }

  get fileCount(): number {
    return this.files.length;
  }
  /** Allocated bytes (the files are sparse). */
  get diskBytes(): number {
    let total = 0;
    for (const f of this.files) {
      try {
        const st = this.io.statSync(f.filePath);
        total += typeof st.blocks === 'number' && st.blocks > 0 ? Math.min(st.size, st.blocks * 512) : st.size;
      } catch {
        // not written yet
      }
    }
    return total;
  }
  /** commitlog offset of the newest indexed record, -1 if none */
  get lastIndexedOffset(): number {
    return this.lastIndexedPhyOffset;
  }

  /**
   * Opens the files. `trusted` (clean shutdown) keeps every readable file. Otherwise only full
   * files wholly below the checkpoint's index offset are kept (IndexService#load with
   * lastExitOK = false destroys files newer than the checkpoint); the rest is deleted and re-indexed.
   */
  load(trusted: boolean, checkpointIndexOffset: number): IndexLoadReport {
    this.io.mkdirSync(this.dir, { recursive: true });
    const names = this.io.readdirSync(this.dir).filter((n) => FILE_NAME.test(n)).sort();
    const report: IndexLoadReport = { files: 0, deletedFiles: [], resumeFrom: null };
    this.files = [];
    let dropRest = false;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const p = path.join(this.dir, name);
      const isLast = i === names.length - 1;
      let reason: string | null = null;
      let file: IndexFile | null = null;
      if (dropRest) {
        reason = 'newer than a dropped file';
      } else {
        const opened = IndexFile.open(this.io, p, this.slotNum, this.maxEntries, isLast && trusted);
        if (typeof opened === 'string') {
          reason = opened;
        } else if (!trusted && !(opened.isFull && opened.header.endPhyOffset < checkpointIndexOffset)) {
          reason = 'written after the last checkpoint (abnormal shutdown)';
        } else if (trusted && !isLast && !opened.isFull) {
          reason = 'not full but not the newest';
        } else {
          file = opened;
        }
      }
      if (!file) {
        dropRest = true;
        this.io.rmSync(p, { force: true });
        report.deletedFiles.push({ name, reason: reason ?? 'unknown' });
        continue;
      }
      file.sealed = file.isFull || !isLast;
      this.files.push(file);
    }
    const last = this.files[this.files.length - 1];
    // The newest kept file must be writable in memory (a file kept as full stays sealed).
    this.lastIndexedPhyOffset = last && last.header.indexCount > 1 ? last.header.endPhyOffset : -1;
    if (report.deletedFiles.length > 0) report.resumeFrom = this.lastIndexedPhyOffset;
    report.files = this.files.length;
    return report;
  }

  /**
   * IndexService#buildIndex for one record: `topic#UNIQ_KEY` and `topic#k` for each
   * space-separated KEYS word. Records at or below the last indexed offset are skipped, so
   * re-dispatching after a crash is harmless.
   */
  buildIndex(topic: string, uniqKey: string | undefined, keys: string | undefined, phyOffset: number, storeTimestamp: number): void {
    if (phyOffset <= this.lastIndexedPhyOffset) return;
    if (uniqKey) this.putKey(indexKey(topic, uniqKey), phyOffset, storeTimestamp);
    if (keys) {
      for (const k of keys.split(' ')) if (k.length > 0) this.putKey(indexKey(topic, k), phyOffset, storeTimestamp);
    }
    this.lastIndexedPhyOffset = phyOffset;
  }

  /** Candidate commitlog offsets for `topic#key` stored in [begin, end], newest first. */
  queryOffsets(topic: string, key: string, begin: number, end: number, visit: (phyOffset: number) => boolean): void {
    const hash = indexKeyHash(indexKey(topic, key));
    for (let i = this.files.length - 1; i >= 0; i--) {
      const f = this.files[i] as IndexFile;
      if (!f.isTimeMatched(begin, end)) {
        if (f.header.indexCount > 1 && f.header.endTimestamp < begin - 1000) break; // older files are older still
        continue;
      }
      if (!f.selectPhyOffsets(hash, begin, end, visit)) return;
    }
  }

  /** Writes dirty index data (cheap, sync); call `fsync` after for durability. */
  writeDirty(): void {
    for (const f of this.files) if (f.inMemory) f.writeDirty();
  }

  async fsync(): Promise<void> {
    for (const f of [...this.files]) if (f.inMemory) await f.fsync();
  }

  flushSync(): void {
    for (const f of this.files) {
      if (!f.inMemory) continue;
      f.writeDirty();
      f.fsyncSync();
    }
  }

  /** Removes every index file (before a full rebuild). */
  deleteAll(): void {
    for (const f of this.files) this.io.rmSync(f.filePath, { force: true });
    this.files = [];
    this.lastIndexedPhyOffset = -1;
  }

  private putKey(key: string, phyOffset: number, storeTimestamp: number): void {
    const hash = indexKeyHash(key);
    let file = this.writableFile();
    if (!file.putKey(hash, phyOffset, storeTimestamp)) {
      file.sealed = true; // written out and its memory released on the next flush
      file = this.newFile();
      file.putKey(hash, phyOffset, storeTimestamp);
    }
  }

  private writableFile(): IndexFile {
    const last = this.files[this.files.length - 1];
    if (last && !last.sealed && last.inMemory && !last.isFull) return last;
    if (last) last.sealed = true;
    return this.newFile();
  }

  private newFile(): IndexFile {
    const last = this.files[this.files.length - 1];
    let name = timestampName(Date.now());
    const lastName = last ? path.basename(last.filePath) : '';
    // 17 digits exceed 2^53: bump with BigInt.
    if (name <= lastName) name = String(BigInt(lastName) + 1n).padStart(17, '0');
    const file = IndexFile.create(this.io, path.join(this.dir, name), this.slotNum, this.maxEntries);
    this.files.push(file);
    return file;
  }
}

function writeFully(io: FileIO, fd: number, buf: Buffer, from: number, length: number): void {
  writeFullySync(io, fd, buf, from, length, from);
}
