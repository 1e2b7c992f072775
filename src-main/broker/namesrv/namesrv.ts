/**
 * An embedded NameServer: route tables, KV config and the remoting server that serves them.
 * RocketMQ: namesrv/NamesrvController.java (scanNotActiveBroker every 5 s, BrokerHousekeepingService
 * dropping a broker when its connection closes).
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { RemotingServer } from '../../remoting/remoting-server.js';
import type { RemotingConnection } from '../../remoting/remoting-connection.js';
import { createLogger, type Logger } from '../../remoting/logger.js';
import { RouteInfoManager, DEFAULT_BROKER_EXPIRY_MS } from './route-info-manager.js';
import { KvConfigManager, KV_CONFIG_FILE_NAME } from './kv-config-manager.js';
import { createNamesrvProcessors } from './namesrv-processor.js';

/** RocketMQ NamesrvConfig / NettyServerConfig defaults. */
export const DEFAULT_NAMESRV_PORT = 9876;
export const DEFAULT_SCAN_INTERVAL_MS = 5_000;

export interface NameServerOptions {
  host?: string;
  /** Default 9876; 0 picks a free port. */
  port?: number;
  /** Where kvConfig.json lives; KV config stays in memory when absent. */
  dataDir?: string;
  /** Brokers silent this long are dropped (default 120 s). */
  brokerExpiryMs?: number;
  /** How often to look for silent brokers (default 5 s). */
  scanIntervalMs?: number;
  /** Fill orderTopicConf in route data from KV namespace ORDER_TOPIC_CONFIG (RocketMQ default false). */
  orderMessageEnable?: boolean;
  /** See RouteInfoManagerOptions.dropQueueDataWithMaster (default false, as Java). */
  dropQueueDataWithMaster?: boolean;
  logger?: Logger;
}

export class NameServer {
  readonly routes: RouteInfoManager;
  readonly kv: KvConfigManager;
  private readonly server: RemotingServer;
  private readonly logger: Logger;
  private readonly connections = new Map<number, RemotingConnection>();
  private scanTimer: NodeJS.Timeout | null = null;
  private readonly scanIntervalMs: number;
  private started = false;

  constructor(private readonly opts: NameServerOptions = {}) {
    this.logger = opts.logger ?? createLogger('namesrv');
    this.scanIntervalMs = opts.scanIntervalMs ?? DEFAULT_SCAN_INTERVAL_MS;
    this.routes = new RouteInfoManager({
      brokerExpiryMs: opts.brokerExpiryMs ?? DEFAULT_BROKER_EXPIRY_MS,
      dropQueueDataWithMaster: opts.dropQueueDataWithMaster,
      logger: this.logger,
    });
    this.kv = new KvConfigManager({
      filePath: opts.dataDir ? path.join(opts.dataDir, KV_CONFIG_FILE_NAME) : undefined,
      logger: this.logger,
    });
    this.server = new RemotingServer({
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? DEFAULT_NAMESRV_PORT,
      name: 'namesrv',
      logger: this.logger,
    });
    for (const [code, processor] of createNamesrvProcessors({
      routes: this.routes,
      kv: this.kv,
      logger: this.logger,
      orderMessageEnable: opts.orderMessageEnable,
    })) {
      this.server.registerProcessor(code, processor);
    }
    this.server.onConnection((conn) => {
      this.connections.set(conn.id, conn);
      conn.onClose(() => {
        this.connections.delete(conn.id);
        try {
          this.routes.onConnectionClosed(conn.id);
        } catch (err) {
          this.logger.error(`route cleanup for closed connection ${conn.remoteAddress} failed: ${(err as Error).message}`);
        }
      });
    });
  }

  /** Loads KV config, listens, and starts the expiry scan. Resolves with the bound port. */
  async start(): Promise<number> {
    if (this.started) throw new Error('NameServer already started');
    this.started = true;
    let port: number;
    try {
      if (this.opts.dataDir) await fs.mkdir(this.opts.dataDir, { recursive: true });
      await this.kv.load();
      port = await this.server.start();
    } catch (err) {
      this.started = false;
      throw err;
    }
    this.scanTimer = setInterval(() => this.scanNotActiveBroker(), this.scanIntervalMs);
    this.scanTimer.unref();
    this.logger.info(`NameServer listening on ${this.address}`);
    return port;
  }

  async stop(): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    await this.server.stop();
    await this.kv.flush();
    this.connections.clear();
    this.started = false;
  }

  get address(): string {
    return this.server.address;
  }

  get port(): number {
    return this.server.port;
  }

  /**
   * Drops expired brokers and closes their connections, as Java does, unless another registered broker
   * still uses the same connection (brokers in one process may share a client).
   */
  scanNotActiveBroker(): void {
    try {
      for (const expired of this.routes.scanNotActiveBroker()) {
        if (expired.connectionId === undefined || this.routes.isConnectionInUse(expired.connectionId)) continue;
        this.connections.get(expired.connectionId)?.close();
      }
    } catch (err) {
      this.logger.error(`broker expiry scan failed: ${(err as Error).message}`);
    }
  }
}
