/**
 * FileIO: every file operation the message store makes (commitlog, consume queues, index,
 * checkpoint, markers) goes through one of these, so a test can put a different file layer under
 * a whole store: `CrashFS` (./crash-fs.ts) records writes and fsyncs and can throw away what was
 * never fsynced (a power failure); a fault shim can fail writes with ENOSPC or fsyncs with EIO.
 *
 * The shape is Node's `fs` (descriptor-based, positional reads/writes, synchronous except the
 * fsyncs that run on the thread pool), so `nodeFileIO` is a thin pass-through and costs nothing.
 */
import fs from 'node:fs';
import path from 'node:path';

export type OpenFlags = 'r' | 'r+' | 'w' | 'w+';

export interface FileStat {
  size: number;
  /** 512-byte blocks allocated (sparse files), where known. */
  blocks?: number;
  isDirectory(): boolean;
  isFile(): boolean;
}

export interface FileIO {
  readonly name: string;

  existsSync(p: string): boolean;
  mkdirSync(p: string, options?: { recursive?: boolean }): void;
  readdirSync(p: string): string[];
  statSync(p: string): FileStat;
  rmSync(p: string, options?: { recursive?: boolean; force?: boolean }): void;
  renameSync(from: string, to: string): void;
  truncateSync(p: string, length: number): void;
  readFileSync(p: string): Buffer;
  /** Creates or replaces the file's content (not fsynced). */
  writeFileSync(p: string, data: string | Buffer): void;

  openSync(p: string, flags: OpenFlags): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  /** May write fewer bytes than asked (a full disk): callers loop. */
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  ftruncateSync(fd: number, length: number): void;
  fstatSync(fd: number): FileStat;
  fdatasyncSync(fd: number): void;
  fsyncSync(fd: number): void;
  /** fdatasync on the thread pool. A rejection means the data may be gone: never retry it. */
  fdatasync(fd: number): Promise<void>;
  /** fsyncs a directory (makes creates, renames and deletes in it durable); best effort. */
  fsyncDirSync(p: string): void;
  fsyncDir(p: string): Promise<void>;
}

export const nodeFileIO: FileIO = {
  name: 'node',
  existsSync: (p) => fs.existsSync(p),
  mkdirSync: (p, options) => {
    fs.mkdirSync(p, options);
  },
  readdirSync: (p) => fs.readdirSync(p),
  statSync: (p) => fs.statSync(p),
  rmSync: (p, options) => fs.rmSync(p, options),
  renameSync: (from, to) => fs.renameSync(from, to),
  truncateSync: (p, length) => fs.truncateSync(p, length),
  readFileSync: (p) => fs.readFileSync(p),
  writeFileSync: (p, data) => fs.writeFileSync(p, data),
  openSync: (p, flags) => fs.openSync(p, flags),
  closeSync: (fd) => fs.closeSync(fd),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fstatSync: (fd) => fs.fstatSync(fd),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  fdatasync: (fd) =>
    new Promise<void>((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    }),
  fsyncDirSync: (p) => {
    let fd: number | undefined;
    try {
      fd = fs.openSync(p, 'r');
      fs.fsyncSync(fd);
    } catch {
      // Directory fsync is a POSIX nicety; where it is refused (Windows) renames are still atomic.
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  },
  fsyncDir: async (p) => {
    let handle: fs.promises.FileHandle | undefined;
    try {
      handle = await fs.promises.open(p, 'r');
      await handle.sync();
    } catch {
      // see fsyncDirSync
    } finally {
      await handle?.close().catch(() => undefined);
    }
  },
};

/** Writes all of buffer[offset, offset + length) at `position`, looping on short writes. */
export function writeFullySync(io: FileIO, fd: number, buffer: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = io.writeSync(fd, buffer, offset + done, length - done, position + done);
    if (n <= 0) throw new Error(`write returned ${n}`);
    done += n;
  }
}

/**
 * Replaces `target` whole: temp file + fsync + rename + directory fsync, so a crash leaves the old
 * file or the new one, never a torn mix (checkpoint, abort marker, tombstones, record-CRC marker).
 */
export function replaceFileSync(io: FileIO, target: string, data: Buffer, tmp = `${target}.tmp`): void {
  const fd = io.openSync(tmp, 'w');
  try {
    writeFullySync(io, fd, data, 0, data.length, 0);
    io.fsyncSync(fd);
  } finally {
    io.closeSync(fd);
  }
  io.renameSync(tmp, target);
  io.fsyncDirSync(path.dirname(target));
}

/** fdatasync of a file through a private descriptor (never one a cache might close meanwhile). */
export async function fdatasyncPath(io: FileIO, p: string): Promise<void> {
  const fd = io.openSync(p, 'r');
  try {
    await io.fdatasync(fd);
  } finally {
    io.closeSync(fd);
  }
}
