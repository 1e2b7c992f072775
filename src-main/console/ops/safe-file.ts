/**
 * Writes an export the safe way (reliability-security.md §8.4): a hidden temp file beside the
 * target (`.<name>.tmp-<random>`), streamed with back-pressure, fsync'd, renamed over the target,
 * then the directory fsync'd. On abort or error the temp file is deleted and the target untouched.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A file name a user may be offered: no separators, control characters or leading dots, capped. */
export function sanitizeFileName(name: string, fallback = 'export'): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[\u0000-\u001f\u007f<>:"/\\|?*%]/g, '_').replace(/^[.\s]+/, '').trim();
  if (s.length > 120) {
    const ext = path.extname(s).slice(0, 10);
    s = s.slice(0, 120 - ext.length) + ext;
  }
  return s.length > 0 ? s : fallback;
}

export class SafeFileWriter {
  readonly tempPath: string;
  private readonly stream: WriteStream;
  private failed: Error | null = null;
  private finished = false;
  bytes = 0;

  constructor(readonly targetPath: string) {
    this.tempPath = path.join(path.dirname(targetPath), `.${path.basename(targetPath)}.tmp-${randomBytes(6).toString('hex')}`);
    this.stream = createWriteStream(this.tempPath, { flags: 'wx', mode: 0o600, highWaterMark: 256 * 1024 });
    this.stream.on('error', (e) => {
      this.failed = e;
    });
  }

  /** Resolves once the chunk is buffered below the high-water mark (memory stays flat). */
  async write(chunk: string | Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.bytes += data.length;
    if (!this.stream.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.stream.off('error', onError);
          resolve();
        };
        const onError = (e: Error): void => {
          this.stream.off('drain', onDrain);
          reject(e);
        };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  /** Flushes, fsyncs, renames onto the target and fsyncs the directory. */
  async commit(): Promise<void> {
    if (this.failed) throw this.failed;
    this.finished = true;
    await new Promise<void>((resolve, reject) => {
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    const handle = await open(this.tempPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(this.tempPath, this.targetPath);
    try {
      const dir = await open(path.dirname(this.targetPath), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // some platforms (Windows) cannot open a directory; the rename is still atomic there
    }
  }

  /** Deletes the temp file; the target is left as it was. */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await rm(this.tempPath, { force: true });
  }
}
