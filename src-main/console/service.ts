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
}

export class ConsoleService {
  readonly tails = new TailManager();
  readonly dispatch: Dispatch;
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  private constructor(readonly options: ConsoleServiceOptions, readonly connections: ConnectionManager, readonly ops: OpsServices) {
    this.dispatch = createDispatcher(HANDLERS, {
      connections: this.connections,
      tails: this.tails,
      ops,
      appInfo: () => ({ version: options.version, mode: options.mode, namesrvAddr: this.connections.embeddedNamesrvAddr }),
    }, options.log);
  }

  static async create(options: ConsoleServiceOptions): Promise<ConsoleService> {
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
    service = new ConsoleService(options, connections, ops);
    return service;
  }

  openSession(emit: <T extends EventTopic>(topic: T, payload: Events[T]) => void): Session {
    const session: Session = { id: randomBytes(8).toString('hex'), emit };
    this.sessions.set(session.id, session);
    return session;
  }

  closeSession(session: Session): void {
    this.tails.stopSession(session.id);
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
  }
}
