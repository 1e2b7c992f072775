/**
 * The operator pages' services, created with the console service: NeDB tables under
 * `<console data dir>/ops`, the job manager (resend, export), the background sampler (lag, delay
 * progress), the migration manager (resumes its jobs on start), preview tokens, the audit log, and
 * the host's save-dialog hook for exports (Electron only; the browser downloads instead).
 */
import path from 'node:path';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditEntry, JobInfo, MigrationJob, OffsetSnapshot, ResendRecord } from '../contract/ops-dto.js';
import type { ConnectionManager } from '../connection.js';
import { LocalTable } from './local-db.js';
import { JobManager } from './jobs.js';
import { DEFAULT_SAMPLE_INTERVAL_MS, OpsSampler, type LagSampleDoc } from './sampler.js';
import { MigrationManager, type MigrationDoc } from './migration.js';
import { ResendIndex } from './resend-index.js';

/** Desktop: asks where to save (native dialog); null when the user cancels. */
export type PickExportPath = (suggestedName: string, format: 'jsonl' | 'csv') => Promise<string | null>;

export interface OpsOptions {
  dataDir: string;
  sampleIntervalMs?: number;
  pickExportPath?: PickExportPath;
  log: (line: string) => void;
}

export interface OpsEvents {
  job(job: JobInfo): void;
  migration(job: MigrationJob): void;
}

/** Single resends (message:resend) kept for traces; the oldest go past this many. Bulk jobs keep receipts files instead. */
const MAX_RESEND_RECORDS = 200_000;
const PREVIEW_TTL_MS = 10 * 60_000;

export class OpsServices {
  readonly jobs: JobManager;
  readonly sampler: OpsSampler;
  readonly migrations: MigrationManager;
  readonly resendIndex: ResendIndex;
  readonly pickExportPath: PickExportPath | null;
  private readonly secret = randomBytes(32);
  private readonly previews = new Map<string, { matched: number; partial: boolean; expiresAt: number }>();
  private resendCount = 0;

  private constructor(
    readonly resends: LocalTable<ResendRecord>,
    readonly audit: LocalTable<AuditEntry>,
    readonly lagSamples: LocalTable<LagSampleDoc>,
    readonly snapshots: LocalTable<OffsetSnapshot>,
    readonly jobsTable: LocalTable<JobInfo>,
    readonly migrationsTable: LocalTable<MigrationDoc>,
    connections: ConnectionManager,
    options: OpsOptions,
    events: OpsEvents,
  ) {
    const dir = path.join(options.dataDir, 'ops');
    this.pickExportPath = options.pickExportPath ?? null;
    this.jobs = new JobManager(jobsTable, dir, (j) => events.job(j), options.log);
    this.resendIndex = new ResendIndex(this.jobs, jobsTable, resends);
    this.sampler = new OpsSampler(lagSamples, connections, options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS, options.log);
    this.migrations = new MigrationManager(migrationsTable, connections, (j) => events.migration(j),
      async (action, connectionId, target, detail) => {
        await this.recordAudit({ action, connectionId, target, detail, result: 'ok', error: null });
      }, options.log);
  }

  static async create(options: OpsOptions, connections: ConnectionManager, events: OpsEvents): Promise<OpsServices> {
    const dir = path.join(options.dataDir, 'ops');
    const resends = new LocalTable<ResendRecord>(dir, 'resends');
    const audit = new LocalTable<AuditEntry>(dir, 'audit');
    const lagSamples = new LocalTable<LagSampleDoc>(dir, 'lag-samples');
    const snapshots = new LocalTable<OffsetSnapshot>(dir, 'offset-snapshots');
    const jobs = new LocalTable<JobInfo>(dir, 'jobs');
    const migrations = new LocalTable<MigrationDoc>(dir, 'migrations');
    await Promise.all([
      resends.load(['originUniqKey', 'originMsgId', 'sourceMsgId']), audit.load(['at']), lagSamples.load(['group', 'at']),
      snapshots.load(['group']), jobs.load(['requestId']), migrations.load(),
    ]);
    const ops = new OpsServices(resends, audit, lagSamples, snapshots, jobs, migrations, connections, options, events);
    ops.resendCount = await resends.count();
    await ops.jobs.recover();
    await ops.migrations.load();
    ops.sampler.start();
    return ops;
  }

  async recordAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    const full: AuditEntry = { ...entry, id: `a${Date.now().toString(36)}${randomBytes(3).toString('hex')}`, at: Date.now() };
    await this.audit.put(full);
    return full;
  }

  async recordResends(records: ResendRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.resends.putMany(records);
    this.resendCount += records.length;
    if (this.resendCount > MAX_RESEND_RECORDS * 1.1) {
      const oldest = await this.resends.find({}, { at: 1 }, this.resendCount - MAX_RESEND_RECORDS);
      const cutoff = oldest[oldest.length - 1]?.at;
      if (cutoff !== undefined) await this.resends.remove({ at: { $lte: cutoff } });
      this.resendCount = await this.resends.count();
    }
  }

  /** A token binding a resend to the selection that was previewed (HMAC, expires). */
  issuePreview(subject: string, matched: number, partial: boolean): { token: string; expiresAt: number } {
    const expiresAt = Date.now() + PREVIEW_TTL_MS;
    const token = `${expiresAt.toString(36)}.${createHmac('sha256', this.secret).update(`${expiresAt}|${subject}`).digest('hex').slice(0, 40)}`;
    this.previews.set(token, { matched, partial, expiresAt });
    for (const [k, v] of this.previews) if (v.expiresAt < Date.now()) this.previews.delete(k);
    return { token, expiresAt };
  }

  /** The previewed counts when the token is valid for this subject, else null. */
  checkPreview(subject: string, token: string): { matched: number; partial: boolean } | null {
    const [exp, mac] = token.split('.');
    const expiresAt = parseInt(exp ?? '', 36);
    if (!mac || !Number.isFinite(expiresAt) || expiresAt < Date.now()) return null;
    const expected = createHmac('sha256', this.secret).update(`${expiresAt}|${subject}`).digest('hex').slice(0, 40);
    if (expected.length !== mac.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(mac))) return null;
    return this.previews.get(token) ?? { matched: 0, partial: true };
  }

  async close(): Promise<void> {
    await this.sampler.stop();
    await this.migrations.stop();
    await this.jobs.stopAll();
    await Promise.all([this.resends, this.audit, this.lagSamples, this.snapshots, this.jobsTable, this.migrationsTable].map((t) => t.close()));
  }
}
