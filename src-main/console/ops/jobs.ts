/**
 * Long console jobs (resend, export): started by a page with a requestId so a double click returns
 * the same job; progress pushed as `job:progress` events (throttled) and readable with job:get;
 * cancellable; a summary kept in NeDB (jobs.db) and per-message receipts appended to
 * `jobs/<id>.receipts.jsonl`, so a finished job can show, export and re-run its failures. A job
 * running when the console stops is recorded as failed ("interrupted"): resend and export jobs do
 * not resume (a migration does, see migration.ts).
 */
import { createReadStream, createWriteStream, mkdirSync, existsSync, rmSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';
import { ConsoleError } from '../contract/errors.js';
import type { JobInfo, JobKind, Receipt, ReceiptPage } from '../contract/ops-dto.js';
import type { LocalTable } from './local-db.js';

const PROGRESS_EVERY_MS = 200;
const MAX_REMEMBERED_REQUESTS = 1000;
/** Files kept for downloads and receipts this long. */
const FILE_RETENTION_MS = 7 * 24 * 3600_000;

export interface JobHandle {
  readonly info: JobInfo;
  /** Set when the job is cancelled (or the console stops). */
  readonly signal: { aborted: boolean };
  update(patch: Partial<Pick<JobInfo, 'total' | 'done' | 'succeeded' | 'failed' | 'skipped' | 'bytes' | 'fileName' | 'downloadUrl' | 'savedTo'>>): void;
  receipt(r: Omit<Receipt, 'seq' | 'at'>): void;
}

interface Running {
  handle: JobHandle;
  signal: { aborted: boolean };
  receipts: WriteStream | null;
  done: Promise<void>;
  lastEmit: number;
  timer: NodeJS.Timeout | null;
}

export interface JobStart {
  kind: JobKind;
  connectionId: string;
  group: string | null;
  requestId: string;
  rateLimit: number | null;
  target: string | null;
  format: 'jsonl' | 'csv' | null;
  total: number | null;
  withReceipts: boolean;
}

export class JobManager {
  private readonly running = new Map<string, Running>();
  private readonly byRequest = new Map<string, string>();
  private readonly starting = new Map<string, Promise<JobInfo>>();
  readonly dir: string;
  readonly exportDir: string;

  constructor(private readonly table: LocalTable<JobInfo>, dataDir: string, private readonly emit: (job: JobInfo) => void,
    private readonly log: (line: string) => void) {
    this.dir = path.join(dataDir, 'jobs');
    this.exportDir = path.join(dataDir, 'exports');
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.exportDir, { recursive: true });
  }

  /** Marks jobs a previous run left running as failed; drops old files. */
  async recover(): Promise<void> {
    for (const job of await this.table.find({ state: 'running' })) {
      await this.table.put({ ...job, state: 'failed', error: 'Interrupted: the console stopped while this job ran', finishedAt: Date.now() });
    }
    for (const d of [this.dir, this.exportDir]) {
      for (const name of readdirSync(d)) {
        const file = path.join(d, name);
        try {
          if (Date.now() - statSync(file).mtimeMs > FILE_RETENTION_MS || name.includes('.tmp-')) rmSync(file, { force: true });
        } catch {
          // raced with another cleanup
        }
      }
    }
    const old = await this.table.find({ startedAt: { $lt: Date.now() - FILE_RETENTION_MS } });
    if (old.length > 0) await this.table.remove({ startedAt: { $lt: Date.now() - FILE_RETENTION_MS } });
  }

  /**
   * Starts a job once per requestId: a second call with the same id, even while the first is still
   * being set up (two clicks in the same instant), gets the same job.
   */
  once(requestId: string, create: () => Promise<JobInfo>): Promise<JobInfo> {
    const inflight = this.starting.get(requestId);
    if (inflight) return inflight;
    const p = (async () => (await this.existing(requestId)) ?? create())();
    this.starting.set(requestId, p);
    void p.catch(() => undefined).finally(() => {
      // Once started, byRequest / the table answer; a failed start may be tried again.
      setTimeout(() => this.starting.delete(requestId), 60_000).unref?.();
    });
    p.catch(() => this.starting.delete(requestId));
    return p;
  }

  /** The job a requestId already started, if any (double click, retried call). */
  async existing(requestId: string): Promise<JobInfo | null> {
    const id = this.byRequest.get(requestId);
    if (id) return this.get(id);
    const found = await this.table.find({ requestId }, {}, 1);
    return found[0] ?? null;
  }

  start(spec: JobStart, run: (job: JobHandle) => Promise<void>): JobInfo {
    const id = `j${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
    const info: JobInfo = {
      id, kind: spec.kind, state: 'running', connectionId: spec.connectionId, group: spec.group, requestId: spec.requestId,
      total: spec.total, done: 0, succeeded: 0, failed: 0, skipped: 0, startedAt: Date.now(), finishedAt: null, rate: 0,
      error: null, rateLimit: spec.rateLimit, target: spec.target, format: spec.format, bytes: 0, fileName: null,
      downloadUrl: null, savedTo: null,
    };
    const signal = { aborted: false };
    let seq = 0;
    const receipts = spec.withReceipts ? createWriteStream(this.receiptsFile(id), { flags: 'a' }) : null;
    receipts?.on('error', (e) => this.log(`[jobs] receipts of ${id}: ${e.message}`));
    const entry: Running = { handle: null as unknown as JobHandle, signal, receipts, done: Promise.resolve(), lastEmit: 0, timer: null };
    const handle: JobHandle = {
      info,
      signal,
      update: (patch) => {
        Object.assign(info, patch);
        this.progress(entry);
      },
      receipt: (r) => {
        const full: Receipt = { ...r, seq: seq++, at: Date.now() };
        receipts?.write(`${JSON.stringify(full)}\n`);
      },
    };
    entry.handle = handle;
    this.running.set(id, entry);
    this.remember(spec.requestId, id);
    void this.table.put({ ...info });
    entry.done = (async () => {
      try {
        await run(handle);
        info.state = signal.aborted ? 'cancelled' : 'done';
      } catch (error) {
        info.state = signal.aborted ? 'cancelled' : 'failed';
        info.error = error instanceof Error ? error.message : String(error);
        if (!(error instanceof ConsoleError)) this.log(`[jobs] ${id} failed: ${(error as Error)?.stack ?? String(error)}`);
      } finally {
        info.finishedAt = Date.now();
        info.rate = rateOf(info);
        if (receipts) await new Promise<void>((r) => receipts.end(() => r()));
        if (entry.timer) clearTimeout(entry.timer);
        this.running.delete(id);
        await this.table.put({ ...info }).catch(() => undefined);
        this.emit({ ...info });
      }
    })();
    this.emit({ ...info });
    return { ...info };
  }

  async get(id: string): Promise<JobInfo> {
    const live = this.running.get(id);
    if (live) return { ...live.handle.info, rate: rateOf(live.handle.info) };
    const stored = await this.table.get(id);
    if (!stored) throw new ConsoleError('NOT_FOUND', `No job "${id}"`);
    return stored;
  }

  async list(): Promise<JobInfo[]> {
    const stored = await this.table.find({}, { startedAt: -1 }, 50);
    return stored.map((j) => {
      const live = this.running.get(j.id);
      return live ? { ...live.handle.info, rate: rateOf(live.handle.info) } : j;
    });
  }

  async cancel(id: string): Promise<JobInfo> {
    const live = this.running.get(id);
    if (!live) return this.get(id);
    live.signal.aborted = true;
    await live.done;
    return this.get(id);
  }

  /** Waits for a job to end (tests, the bench). */
  async wait(id: string): Promise<JobInfo> {
    await this.running.get(id)?.done;
    return this.get(id);
  }

  receiptsFile(id: string): string {
    return path.join(this.dir, `${id}.receipts.jsonl`);
  }

  /** Streams a job's receipts (flat memory), oldest first. */
  async *receipts(id: string): AsyncGenerator<Receipt> {
    const live = this.running.get(id);
    if (live?.receipts) await new Promise<void>((r) => (live.receipts!.writableNeedDrain ? live.receipts!.once('drain', () => r()) : r()));
    const file = this.receiptsFile(id);
    if (!existsSync(file)) return;
    const lines = readline.createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      try {
        yield JSON.parse(line) as Receipt;
      } catch {
        // a torn last line (the console stopped mid-write)
      }
    }
  }

  async receiptPage(id: string, onlyFailed: boolean, offset: number, limit: number): Promise<ReceiptPage> {
    await this.get(id);
    const receipts: Receipt[] = [];
    let total = 0;
    let failed = 0;
    for await (const r of this.receipts(id)) {
      if (r.status === 'failed') failed++;
      if (onlyFailed && r.status !== 'failed') continue;
      if (total >= offset && receipts.length < limit) receipts.push(r);
      total++;
    }
    return { jobId: id, receipts, total, failed };
  }

  async stopAll(): Promise<void> {
    for (const r of this.running.values()) r.signal.aborted = true;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Path of a finished browser export, for the HTTP download. */
  async downloadable(id: string): Promise<{ file: string; name: string } | null> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) return null;
    const job = await this.table.get(id);
    if (!job || job.state !== 'done' || !job.fileName || job.savedTo) return null;
    const file = path.join(this.exportDir, `${id}${path.extname(job.fileName)}`);
    return existsSync(file) ? { file, name: job.fileName } : null;
  }

  private remember(requestId: string, id: string): void {
    this.byRequest.set(requestId, id);
    if (this.byRequest.size > MAX_REMEMBERED_REQUESTS) this.byRequest.delete(this.byRequest.keys().next().value!);
  }

  private progress(entry: Running): void {
    const now = Date.now();
    if (now - entry.lastEmit >= PROGRESS_EVERY_MS) {
      entry.lastEmit = now;
      this.emit({ ...entry.handle.info, rate: rateOf(entry.handle.info) });
    } else if (!entry.timer) {
      entry.timer = setTimeout(() => {
        entry.timer = null;
        entry.lastEmit = Date.now();
        if (this.running.has(entry.handle.info.id)) this.emit({ ...entry.handle.info, rate: rateOf(entry.handle.info) });
      }, PROGRESS_EVERY_MS);
      entry.timer.unref?.();
    }
  }
}

function rateOf(info: JobInfo): number {
  const end = info.finishedAt ?? Date.now();
  const seconds = Math.max(0.001, (end - info.startedAt) / 1000);
  return Math.round((info.done / seconds) * 10) / 10;
}
