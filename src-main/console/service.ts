/**
 * The console service both hosts create: connections (embedded + saved, NeDB in `dataDir`), live
 * tails, and the dispatcher. A host opens a session per page, routes every call through
 * `dispatch`, and closes the session when the page goes (its tails stop).
 */
import { randomBytes } from 'node:crypto';
import { ConnectionManager } from './connection.js';
import { ConnectionStore } from './connection-store.js';
import { createDispatcher, type Dispatch, type Session } from './dispatch.js';
import { HANDLERS } from './handlers/index.js';
import { TailManager } from './tail.js';
import type { AppInfo } from './contract/dto.js';
import type { EventTopic } from './contract/channels.js';
import type { Events } from './contract/contract.js';
import { OpsServices, type PickExportPath } from './ops/ops-services.js';
import { OperationRegistry } from './operations.js';
import { EmbeddedSettingsStore } from './embedded-settings.js';
import type { EmbeddedControl } from './embedded-control.js';
import type { EmbeddedHostInfo } from './dispatch.js';
import { stampingAuditWriter } from './audit.js';

export interface ConsoleServiceOptions {
  /** Where the console keeps its own state (connections.db). */
  dataDir: string;
  embeddedNamesrvAddr: string | null;
  mode: AppInfo['mode'];
  version: string;
  log?: (line: string) => void;
  /** Desktop: the native save dialog for exports. Absent: exports are downloads (headless). */
  pickExportPath?: PickExportPath;
  /** Lag and delay sampling period (30 s). */
  sampleIntervalMs?: number;
  /** The embedded settings store when the host opened it before starting the cluster (else opened here). */
  embeddedSettings?: EmbeddedSettingsStore;
  /** Where the embedded cluster keeps its data when the settings leave it at the default. */
  defaultEmbeddedDataDir?: string;
}

export class ConsoleService {
  readonly tails = new TailManager();
  readonly operations = new OperationRegistry();
  readonly dispatch: Dispatch;
  private readonly sessions = new Map<string, Session>();
  private embeddedControl: EmbeddedControl | null = null;
  private hostInfo: EmbeddedHostInfo;
  private closed = false;

  private constructor(readonly options: ConsoleServiceOptions, readonly connections: ConnectionManager, readonly ops: OpsServices,
    readonly embeddedSettings: EmbeddedSettingsStore) {
    this.hostInfo = { running: null, defaultDataDir: options.defaultEmbeddedDataDir ?? '', pinnedByHost: [] };
    this.dispatch = createDispatcher(HANDLERS, {
      connections: this.connections,
      tails: this.tails,
      ops,
      operations: this.operations,
      embeddedSettings,
      appInfo: () => ({ version: options.version, mode: options.mode, namesrvAddr: this.connections.embeddedNamesrvAddr }),
      embedded: () => this.embeddedControl,
      embeddedHost: () => this.hostInfo,
    }, options.log);
  }

  /**
   * The host started (or stopped: null) the embedded cluster in-process: its connection follows,
   * and the Overview gets its node controls. `host` says what it was started with.
   */
  attachEmbedded(control: EmbeddedControl | null, host?: Partial<EmbeddedHostInfo>): void {
    this.embeddedControl = control;
    this.connections.setEmbedded(control ? control.namesrvAddr : null);
    this.hostInfo = { ...this.hostInfo, ...host, ...(control ? {} : { running: null }) };
  }

  static async create(options: ConsoleServiceOptions): Promise<ConsoleService> {
    const embeddedSettings = options.embeddedSettings ?? await EmbeddedSettingsStore.open(options.dataDir);
    const store = new ConnectionStore(options.dataDir);
    await store.load();
    const connections = new ConnectionManager(store, options.embeddedNamesrvAddr);
    // Events of jobs go to every open page (a job outlives the page that started it).
    let service: ConsoleService | null = null;
    const ops = await OpsServices.create({
      dataDir: options.dataDir,
      sampleIntervalMs: options.sampleIntervalMs,
      pickExportPath: options.pickExportPath,
      log: options.log ?? ((line) => console.error(line)),
    }, connections, {
      job: (job) => service?.broadcast('job:progress', job),
      migration: (job) => service?.broadcast('migration:progress', job),
    });
    // Every audit entry written during a call carries who made it (audit.ts).
    ops.recordAudit = stampingAuditWriter(ops.recordAudit.bind(ops));
    service = new ConsoleService(options, connections, ops, embeddedSettings);
    return service;
  }

  /** `actor` names who is behind the page, for the audit log. */
  openSession(emit: <T extends EventTopic>(topic: T, payload: Events[T]) => void, actor?: string): Session {
    const session: Session = { id: randomBytes(8).toString('hex'), actor, emit };
    this.sessions.set(session.id, session);
    return session;
  }

  closeSession(session: Session): void {
    this.tails.stopSession(session.id);
    this.operations.cancelSession(session.id);
    this.sessions.delete(session.id);
  }

  broadcast<T extends EventTopic>(topic: T, payload: Events[T]): void {
    for (const s of this.sessions.values()) {
      try {
        s.emit(topic, payload);
      } catch {
        // a page that went away mid-send
      }
    }
  }

  /** Path and download name of a finished browser export (the headless server's /exports/<id>). */
  exportDownload(jobId: string): Promise<{ file: string; name: string } | null> {
    return this.ops.jobs.downloadable(jobId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tails.stopAll();
    this.sessions.clear();
    await this.ops.close();
    await this.connections.close();
    await this.embeddedSettings.close();
  }
}
