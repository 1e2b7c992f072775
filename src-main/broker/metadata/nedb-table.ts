/**
 * A keyed table of small documents in one NeDB file, mirrored in memory. Message bodies never
 * come here (DESIGN: storage).
 *
 * Crash safety (reference §5). NeDB appends one line per update with `fs.appendFile` and never
 * fsyncs; only its compaction (at load and at our close) is crash-safe (temp + fsync + rename).
 * So this wrapper:
 * - fsyncs the file after appends: once per event-loop turn that wrote (a batch of consumer
 *   offsets persisted together shares one fsync; a topic or group change gets its own);
 * - cuts a failed append back to where it started (a short write on a full disk would otherwise
 *   leave half a line that the next successful append turns into a corrupt line in the middle);
 * - seals every line with a CRC (`<json>\t<crc32 hex>`, NeDB's serialization hooks), so a flipped
 *   bit that still parses as JSON (offset 1234 → 3234) is caught; lines without one (files
 *   written before) are accepted as they are;
 * - checks the file before NeDB loads it: an incomplete final line (an append torn by a crash)
 *   is dropped (kept aside in `<file>.torn-<time>`) and reported, so the table holds the old or
 *   the new value of that update, never a silently wrong one; any other damaged line makes load
 *   fail with an error naming the file and the line (corruptAlertThreshold 0: NeDB itself would
 *   otherwise drop damaged lines silently).
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import Datastore from 'nedb-promises';
import { createLogger } from '../../remoting/logger.js';

const log = createLogger('metadata');

interface Row<T> {
  _id: string;
  value: T;
}

/** A metadata file that cannot be loaded without losing data. */
export class MetadataCorruptError extends Error {
  constructor(readonly file: string, readonly line: number, reason: string) {
    super(`${file}, line ${line}: ${reason}. Refusing to start rather than drop it: repair or restore the file (or move it away to start without it).`);
    this.name = 'MetadataCorruptError';
  }
}

export interface NedbLoadReport {
  file: string;
  lines: number;
  /** Lines written before lines carried a CRC. */
  linesWithoutCrc: number;
  /** An incomplete last line (a torn append) that was cut off. */
  tornTail?: { bytes: number; keptIn: string };
}

function lineCrc(s: string): string {
  return (zlib.crc32(s) >>> 0).toString(16).padStart(8, '0');
}

/** NeDB afterSerialization. */
export function sealLine(s: string): string {
  return `${s}\t${lineCrc(s)}`;
}

/** NeDB beforeDeserialization: the JSON of a sealed line (checked), or a line without a seal as is. */
export function openLine(line: string): string {
  const tab = line.lastIndexOf('\t');
  if (tab < 0) return line;
  const body = line.slice(0, tab);
  const crc = line.slice(tab + 1);
  if (crc !== lineCrc(body)) throw new Error(crc.length === 8 ? 'line CRC mismatch' : 'bad line CRC field');
  return body;
}

/** Classifies one line: null when whole and sound, else why not. */
function lineProblem(line: string): string | null {
  try {
    const json = openLine(line);
    const doc = JSON.parse(json) as unknown;
    if (!doc || typeof doc !== 'object') return 'not a document';
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

async function fsyncFile(filename: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(filename, 'r+');
    await handle.datasync();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function fileSize(filename: string): Promise<number> {
  try {
    return (await fs.promises.stat(filename)).size;
  } catch {
    return 0;
  }
}

/**
 * Checks a NeDB file line by line; cuts an incomplete final line. Throws MetadataCorruptError for
 * any other damaged line. Exported for tests and tools.
 */
export function checkNedbFile(filename: string): NedbLoadReport {
  const report: NedbLoadReport = { file: filename, lines: 0, linesWithoutCrc: 0 };
  let data: Buffer;
  try {
    data = fs.readFileSync(filename);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return report; // new, or NeDB restores `<file>~`
    throw e;
  }
  const lastNewline = data.lastIndexOf(0x0a);
  const whole = data.subarray(0, lastNewline + 1).toString('utf8');
  const tail = data.subarray(lastNewline + 1);
  const lines = whole.split('\n');
  lines.pop(); // after the last '\n'
  let sealedSeen = false;
  lines.forEach((line, i) => {
    if (line === '') return;
    const problem = lineProblem(line);
    if (problem) throw new MetadataCorruptError(filename, i + 1, problem);
    const sealed = line.includes('\t');
    // Every line this version writes is sealed, and a file is rewritten sealed at its first load:
    // an unsealed line after a sealed one did not come from NeDB.
    if (!sealed && sealedSeen) throw new MetadataCorruptError(filename, i + 1, 'line without CRC after lines with one');
    sealedSeen ||= sealed;
    report.lines++;
    if (!sealed) report.linesWithoutCrc++;
  });
  if (tail.length > 0) {
    const text = tail.toString('utf8');
    // Whole but for its newline only if sealed: an unsealed fragment may be a sealed line cut before its CRC.
    if (text.includes('\t') && lineProblem(text) === null) {
      // Whole but for its newline: keep it, complete it.
      fs.appendFileSync(filename, '\n');
      report.lines++;
    } else {
      // An append torn by a crash (partial, or zero-filled by the file system): cut it off.
      const keptIn = `${filename}.torn-${Date.now()}`;
      fs.writeFileSync(keptIn, tail);
      const fd = fs.openSync(filename, 'r+');
      try {
        fs.ftruncateSync(fd, lastNewline + 1);
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      report.tornTail = { bytes: tail.length, keptIn };
    }
  }
  return report;
}

export class NedbTable<T> {
  private readonly db: Datastore<Row<T>>;
  private readonly rows = new Map<string, T>();
  private writes: Promise<unknown> = Promise.resolve();
  private pendingSync: Promise<void> | null = null;
  private writeErrorLogged = false;
  /** What the last load found (a torn final line cut off, lines without CRC). */
  loadReport: NedbLoadReport | null = null;

  constructor(readonly filename: string) {
    // corruptAlertThreshold 0: refuse to load a file with a damaged line instead of dropping it silently.
    this.db = Datastore.create({
      filename,
      corruptAlertThreshold: 0,
      afterSerialization: sealLine,
      beforeDeserialization: openLine,
    }) as unknown as Datastore<Row<T>>;
  }

  async load(): Promise<Map<string, T>> {
    const report = checkNedbFile(this.filename);
    this.loadReport = report;
    if (report.tornTail) {
      log.warn(`${this.filename}: cut an incomplete last line (${report.tornTail.bytes} bytes, an update torn by a crash; kept in ${report.tornTail.keptIn}); that update is lost, the value before it stands`);
    }
    try {
      await this.db.load();
    } catch (e) {
      throw new MetadataCorruptError(this.filename, 0, `NeDB refused to load it: ${(e as Error).message}`);
    }
    const docs = await this.db.find({});
    this.rows.clear();
    for (const d of docs) this.rows.set(d._id, d.value);
    return this.rows;
  }

  get(key: string): T | undefined {
    return this.rows.get(key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  entries(): IterableIterator<[string, T]> {
    return this.rows.entries();
  }

  get size(): number {
    return this.rows.size;
  }

  /** Updates memory at once; the file write is queued in order. Resolves once the line is fsynced. */
  put(key: string, value: T): Promise<unknown> {
    this.rows.set(key, value);
    this.queueWrite(() => this.db.update({ _id: key }, { _id: key, value }, { upsert: true }));
    return this.requestSync();
  }

  remove(key: string): Promise<unknown> {
    this.rows.delete(key);
    this.queueWrite(() => this.db.remove({ _id: key }, { multi: false }));
    return this.requestSync();
  }

  /** Resolves once every write queued so far is fsynced. */
  sync(): Promise<void> {
    return this.requestSync();
  }

  /** Waits for queued writes, then rewrites the file in one-line-per-document form. */
  async close(): Promise<void> {
    if (this.pendingSync) await this.pendingSync;
    await this.writes;
    const original = (this.db as unknown as { __original: { compactDatafileAsync(): Promise<void> } }).__original;
    await original.compactDatafileAsync();
  }

  /** One write at a time; a failed append is cut back so no half line stays behind. */
  private queueWrite(write: () => Promise<unknown>): void {
    this.writes = this.writes.then(async () => {
      const before = await fileSize(this.filename);
      try {
        await write();
      } catch (e) {
        if (!this.writeErrorLogged) {
          this.writeErrorLogged = true;
          log.error(`${this.filename}: write failed (${(e as Error).message}); the value stays in memory and is written at the next compaction`);
        }
        try {
          if ((await fileSize(this.filename)) > before) await fs.promises.truncate(this.filename, before);
        } catch (cut) {
          log.error(`${this.filename}: could not cut a failed append back: ${(cut as Error).message}`);
        }
      }
    });
  }

  /** fsync after the writes of this event-loop turn (all of them: one fsync per batch). */
  private requestSync(): Promise<void> {
    if (this.pendingSync) return this.pendingSync;
    this.pendingSync = new Promise<void>((resolve) => {
      setImmediate(() => {
        this.pendingSync = null;
        const done = this.writes.then(() => fsyncFile(this.filename)).catch((e: unknown) => {
          log.error(`${this.filename}: fsync failed: ${(e as Error).message}`);
        });
        this.writes = done;
        void done.then(() => resolve());
      });
    });
    return this.pendingSync;
  }
}
