/**
 * CrashFS: a FileIO for tests that simulates a power failure (LazyFS without FUSE; reference
 * §6.1). It passes every call through to the real files, so the running store sees what a process
 * sees (the page cache), and keeps, per file, the content as of the last completed fsync plus a
 * journal of the writes and truncates made since. `crash()` then rewrites every file it knows to
 * what a disk could hold after the power went out: the synced content plus (optionally) a random
 * prefix of the unsynced operations, the last one possibly torn. A file never fsynced may vanish.
 *
 * After `crash()` the instance is dead, like the machine: every call throws EIO (close is a no-op),
 * fsyncs in flight never complete successfully. Recover the image with a new store on a fresh FileIO.
 *
 * Model limits (documented so nobody over-reads a pass): renames, deletes and directory creation
 * are durable at once (the store fsyncs directories after renames anyway); writes reach the disk
 * in the order they were made (no reordering of pages within or across files beyond the prefix
 * and the torn last write); an fsync makes the file's existence durable (ext4 behaviour).
 * Only for tests: it keeps whole file images in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FileIO, FileStat, OpenFlags } from './file-io.js';

type Op = { kind: 'write'; position: number; data: Buffer } | { kind: 'truncate'; length: number };

interface FileState {
  /** Content known durable (as of the last completed fsync). */
  synced: Buffer;
  syncedLength: number;
  /** The file's existence is durable (existed before we saw it, or fsynced since). */
  syncedExists: boolean;
  journal: Op[];
}

export interface CrashOptions {
  /** 'none': only fsynced data survives; 'random' (default): plus a random prefix of later writes, the last maybe torn; 'all': nothing is lost (a process crash). */
  keepUnsynced?: 'none' | 'random' | 'all';
  /** Random source in [0, 1); required for 'random'. */
  rng?: () => number;
}

export interface CrashedFile {
  path: string;
  syncedBytes: number;
  unsyncedOps: number;
  keptOps: number;
  torn: boolean;
  vanished: boolean;
  /** File length before and after the crash. */
  lengthBefore: number;
  lengthAfter: number;
}

export interface CrashReport {
  at: number;
  files: CrashedFile[];
}

export interface SyncRecord {
  path: string;
  startedAt: number;
  completedAt: number;
  /** Length of the file's durable image after this fsync. */
  durableLength: number;
}

/** Epoch milliseconds with sub-millisecond resolution (ack times are compared with fsync times). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

function crashedError(): NodeJS.ErrnoException {
  const e = new Error('EIO: the simulated machine has crashed') as NodeJS.ErrnoException;
  e.code = 'EIO';
  return e;
}

export class CrashFS implements FileIO {
  readonly name = 'crashfs';
  private readonly files = new Map<string, FileState>();
  private readonly fds = new Map<number, string>();
  private crashed = false;
  /** Completed fsyncs, in completion order (bounded). */
  readonly syncs: SyncRecord[] = [];
  /** Extra latency of an async fdatasync (ms); 0 = next turn of the event loop. */
  fsyncDelayMs = 0;

  get isCrashed(): boolean {
    return this.crashed;
  }

  // ---------------------------------------------------------------------------------------------
  // FileIO

  existsSync(p: string): boolean {
    this.alive();
    return fs.existsSync(p);
  }

  mkdirSync(p: string, options?: { recursive?: boolean }): void {
    this.alive();
    fs.mkdirSync(p, options);
  }

  readdirSync(p: string): string[] {
    this.alive();
    return fs.readdirSync(p);
  }

  statSync(p: string): FileStat {
    this.alive();
    return fs.statSync(p);
  }

  rmSync(p: string, options?: { recursive?: boolean; force?: boolean }): void {
    this.alive();
    fs.rmSync(p, options);
    const resolved = path.resolve(p);
    for (const key of [...this.files.keys()]) {
      if (key === resolved || key.startsWith(resolved + path.sep)) this.files.delete(key);
    }
  }

  renameSync(from: string, to: string): void {
    this.alive();
    fs.renameSync(from, to);
    const a = path.resolve(from);
    const b = path.resolve(to);
    for (const key of [...this.files.keys()]) {
      if (key === b || key.startsWith(b + path.sep)) this.files.delete(key);
    }
    for (const [key, state] of [...this.files]) {
      if (key === a || key.startsWith(a + path.sep)) {
        this.files.delete(key);
        this.files.set(b + key.slice(a.length), state);
      }
    }
    for (const [fd, p] of this.fds) if (p === a) this.fds.set(fd, b);
  }

  truncateSync(p: string, length: number): void {
    this.alive();
    const state = this.track(p, false);
    fs.truncateSync(p, length);
    state.journal.push({ kind: 'truncate', length });
  }

  readFileSync(p: string): Buffer {
    this.alive();
    return fs.readFileSync(p);
  }

  writeFileSync(p: string, data: string | Buffer): void {
    const fd = this.openSync(p, 'w');
    try {
      const b = typeof data === 'string' ? Buffer.from(data) : data;
      let done = 0;
      while (done < b.length) done += this.writeSync(fd, b, done, b.length - done, done);
    } finally {
      this.closeSync(fd);
    }
  }

  openSync(p: string, flags: OpenFlags): number {
    this.alive();
    const resolved = path.resolve(p);
    const existed = fs.existsSync(resolved);
    // Take an existing file's durable content before a 'w' open truncates it.
    if (existed) this.track(resolved, false);
    const fd = fs.openSync(resolved, flags);
    const state = this.track(resolved, !existed);
    if (existed && (flags === 'w' || flags === 'w+')) state.journal.push({ kind: 'truncate', length: 0 });
    this.fds.set(fd, resolved);
    return fd;
  }

  closeSync(fd: number): void {
    if (this.crashed) return;
    if (!this.fds.delete(fd)) return;
    fs.closeSync(fd);
  }

  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    this.alive();
    return fs.readSync(fd, buffer, offset, length, position);
  }

  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    this.alive();
    const n = fs.writeSync(fd, buffer, offset, length, position);
    const state = this.stateOfFd(fd);
    if (state && n > 0) state.journal.push({ kind: 'write', position, data: Buffer.from(buffer.subarray(offset, offset + n)) });
    return n;
  }

  ftruncateSync(fd: number, length: number): void {
    this.alive();
    fs.ftruncateSync(fd, length);
    this.stateOfFd(fd)?.journal.push({ kind: 'truncate', length });
  }

  fstatSync(fd: number): FileStat {
    this.alive();
    return fs.fstatSync(fd);
  }

  fdatasyncSync(fd: number): void {
    this.alive();
    const p = this.fds.get(fd);
    const state = p ? this.files.get(p) : undefined;
    if (!p || !state) return;
    const started = preciseNow();
    this.applyToSynced(state, state.journal.length);
    this.recordSync(p, state, started);
  }

  fsyncSync(fd: number): void {
    this.fdatasyncSync(fd);
  }

  async fdatasync(fd: number): Promise<void> {
    this.alive();
    const p = this.fds.get(fd);
    const state = p ? this.files.get(p) : undefined;
    // What this fsync covers: everything written before it was called.
    const covered = state ? state.journal.length : 0;
    const started = preciseNow();
    await new Promise<void>((resolve) => {
      if (this.fsyncDelayMs > 0) setTimeout(resolve, this.fsyncDelayMs);
      else setImmediate(resolve);
    });
    if (this.crashed) throw crashedError();
    // The file may have been renamed or deleted meanwhile; only sync the state we started with.
    if (!p || !state || this.files.get(p) !== state) return;
    this.applyToSynced(state, covered);
    this.recordSync(p, state, started);
  }

  fsyncDirSync(_p: string): void {
    this.alive();
  }

  async fsyncDir(_p: string): Promise<void> {
    this.alive();
  }

  // ---------------------------------------------------------------------------------------------
  // The crash

  /** Unsynced bytes and operations per tracked file (what a crash now could lose). */
  unsynced(): { path: string; ops: number; bytes: number }[] {
    const out: { path: string; ops: number; bytes: number }[] = [];
    for (const [p, s] of this.files) {
      if (s.journal.length === 0) continue;
      let bytes = 0;
      for (const op of s.journal) if (op.kind === 'write') bytes += op.data.length;
      out.push({ path: p, ops: s.journal.length, bytes });
    }
    return out;
  }

  /**
   * The power goes out: every tracked file is rewritten to a state a disk could be in, this
   * instance dies (its descriptors are closed; later calls throw EIO).
   */
  crash(options: CrashOptions = {}): CrashReport {
    if (this.crashed) throw new Error('already crashed');
    const mode = options.keepUnsynced ?? 'random';
    const rng = options.rng;
    if (mode === 'random' && !rng) throw new Error('crash: random mode needs an rng');
    this.crashed = true;
    const at = preciseNow();
    for (const fd of this.fds.keys()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.fds.clear();
    const report: CrashReport = { at, files: [] };
    for (const [p, state] of this.files) {
      let lengthBefore = 0;
      try {
        lengthBefore = fs.statSync(p).size;
      } catch {
        continue; // gone meanwhile
      }
      const ops = state.journal.length;
      let keep = ops;
      let torn = false;
      if (mode === 'none') keep = 0;
      else if (mode === 'random') keep = Math.floor((rng as () => number)() * (ops + 1));
      const image = new FileImage(state.synced.subarray(0, state.syncedLength));
      for (let i = 0; i < keep; i++) image.apply(state.journal[i] as Op);
      if (mode === 'random' && keep < ops) {
        const next = state.journal[keep] as Op;
        if (next.kind === 'write' && next.data.length > 1 && (rng as () => number)() < 0.5) {
          const cut = 1 + Math.floor((rng as () => number)() * (next.data.length - 1));
          image.apply({ kind: 'write', position: next.position, data: next.data.subarray(0, cut) });
          torn = true;
        }
      }
      // A file whose creation was never made durable may not exist after the reboot.
      let vanished = false;
      if (!state.syncedExists && mode !== 'all') vanished = mode === 'none' || (rng as () => number)() < 0.5;
      if (vanished) fs.rmSync(p, { force: true });
      else fs.writeFileSync(p, image.content());
      report.files.push({
        path: p,
        syncedBytes: state.syncedLength,
        unsyncedOps: ops,
        keptOps: keep,
        torn,
        vanished,
        lengthBefore,
        lengthAfter: vanished ? 0 : image.length,
      });
    }
    this.files.clear();
    return report;
  }

  // ---------------------------------------------------------------------------------------------

  private alive(): void {
    if (this.crashed) throw crashedError();
  }

  private track(p: string, creating: boolean): FileState {
    const resolved = path.resolve(p);
    let state = this.files.get(resolved);
    if (state) return state;
    // A file that existed before we saw it is taken as durable as it is.
    const content = creating ? Buffer.alloc(0) : fs.readFileSync(resolved);
    state = { synced: content, syncedLength: content.length, syncedExists: !creating, journal: [] };
    this.files.set(resolved, state);
    return state;
  }

  private stateOfFd(fd: number): FileState | undefined {
    const p = this.fds.get(fd);
    return p ? this.files.get(p) : undefined;
  }

  private applyToSynced(state: FileState, count: number): void {
    if (count <= 0) {
      state.syncedExists = true;
      return;
    }
    const image = new FileImage(state.synced, state.syncedLength);
    for (let i = 0; i < count; i++) image.apply(state.journal[i] as Op);
    state.synced = image.buffer;
    state.syncedLength = image.length;
    state.syncedExists = true;
    state.journal.splice(0, count);
  }

  private recordSync(p: string, state: FileState, startedAt: number): void {
    this.syncs.push({ path: p, startedAt, completedAt: preciseNow(), durableLength: state.syncedLength });
    if (this.syncs.length > 100_000) this.syncs.splice(0, 50_000);
  }
}

/** A growable file image that operations are applied to. */
class FileImage {
  buffer: Buffer;
  length: number;

  constructor(initial: Buffer, length = initial.length) {
    this.buffer = initial;
    this.length = length;
  }

  apply(op: Op): void {
    if (op.kind === 'truncate') {
      if (op.length > this.length) {
        this.ensure(op.length);
        this.buffer.fill(0, this.length, op.length);
      }
      this.length = op.length;
      return;
    }
    const end = op.position + op.data.length;
    this.ensure(end);
    if (op.position > this.length) this.buffer.fill(0, this.length, op.position);
    op.data.copy(this.buffer, op.position);
    this.length = Math.max(this.length, end);
  }

  content(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private ensure(size: number): void {
    if (size <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(size, this.buffer.length * 2, 4096));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
