/**
 * A broker node's part in replication: its HA listener (served while it is master), its HA
 * client and metadata copier (while it is a slave), its epoch history, and the role changes
 * between them. BrokerNode owns one and calls it at start, after each registration with the
 * NameServers, at stop and at an in-process kill.
 *
 * Defaults and knobs (BrokerConfig): haListenPort (listen port + 1, free when ports are free),
 * haMasterAddress (else learned from REGISTER_BROKER's answer), haSyncTimeoutMs 5 s
 * (FLUSH_SLAVE_TIMEOUT after it), haMaxGapNotInSync 256 MiB (SLAVE_NOT_AVAILABLE beyond it),
 * haTransferBatchBytes 256 KiB, haHeartbeatMs 5 s, haHousekeepingMs 20 s, haReconnectMs 1 s,
 * slaveSyncIntervalMs 10 s.
 */
import path from 'node:path';
import type { Logger } from '../../remoting/logger.js';
import { RemotingClient } from '../../remoting/remoting-client.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { MessageStore } from '../store/message-store.js';
import type { TopicConfigManager } from '../metadata/topic-config-manager.js';
import type { SubscriptionGroupManager } from '../metadata/subscription-group-manager.js';
import type { ConsumerOffsetManager } from '../metadata/consumer-offset-manager.js';
import type { RegisterBrokerOutcome } from '../namesrv/namesrv-client.js';
import { HaService, type HaSlaveStatus, type ReplicaOutcome, type ReplicaWaiter } from './ha-service.js';
import { HaClient, type HaClientStatus } from './ha-client.js';
import { EpochFile } from './ha-epochs.js';
import type { EpochEntry } from './ha-protocol.js';
import { SlaveSynchronize, type SlaveSyncStatus } from './slave-synchronize.js';
import { DelayOffsetStore } from '../schedule/delay-offset-store.js';

export interface HaHost {
  readonly config: BrokerConfig;
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly address: string;
  readonly port: number;
  registerToNameServers(): void;
}

export interface BrokerHaStatus {
  role: string;
  haAddress: string;
  maxOffset: number;
  epochs: EpochEntry[];
  /** Master side: connected slaves. */
  slaves: HaSlaveStatus[];
  /** Slave side: the link to the master. */
  client: HaClientStatus | null;
  sync: SlaveSyncStatus | null;
  replicationPaused: boolean;
}

export class BrokerHa implements ReplicaWaiter {
  readonly epochs: EpochFile;
  private service: HaService | null = null;
  private client: HaClient | null = null;
  private sync: SlaveSynchronize | null = null;
  private syncRemoting: RemotingClient | null = null;
  private paused = false;
  private syncSoon: NodeJS.Timeout | null = null;
  private lastAsked = 0;
  /** The master's delay offsets as last copied (level → next offset); saved to the schedule service's file. */
  syncedDelayOffsets: Record<string, number> = {};

  constructor(private readonly host: HaHost, private readonly logger: Logger) {
    this.epochs = EpochFile.inDataDir(host.config.dataDir);
  }

  get isSlave(): boolean {
    return this.host.config.brokerRole === 'SLAVE';
  }

  /** "host:port" of the HA listener (registered with the NameServers as haServerAddr). */
  get haServerAddr(): string {
    return this.service?.address ?? `${this.host.config.host}:${this.host.port + 1}`;
  }

  get haPort(): number {
    return this.service?.port ?? 0;
  }

  /** After the remoting server is bound and the store opened; before the first registration. */
  async start(): Promise<void> {
    const c = this.host.config;
    this.epochs.load();
    const port = c.haListenPort >= 0 ? c.haListenPort : (c.listenPort === 0 ? 0 : this.host.port + 1);
    const service = new HaService({
      host: c.host,
      port,
      store: () => this.host.store,
      brokerName: c.brokerName,
      masterAddr: () => this.host.address,
      epochs: () => this.epochs.entries(),
      isMaster: () => this.host.config.brokerRole !== 'SLAVE',
      logger: this.logger,
      transferBatchBytes: c.haTransferBatchBytes,
      heartbeatMs: c.haHeartbeatMs,
      housekeepingMs: c.haHousekeepingMs,
      maxGapNotInSync: c.haMaxGapNotInSync,
      syncTimeoutMs: c.haSyncTimeoutMs,
    });
    await service.start();
    this.service = service;
    this.host.store.onMessageArrived((topic) => {
      service.notifyWritten();
      // A slave receiving a topic it has no config for asks its master's metadata now, not in 10 s.
      if (this.sync && !this.syncSoon && !this.host.topics.get(topic)) {
        this.syncSoon = setTimeout(() => {
          this.syncSoon = null;
          void this.sync?.syncAll();
        }, 200);
        this.syncSoon.unref();
      }
    });
    if (this.isSlave) this.startSlave();
    else this.startMaster();
  }

  private startMaster(): void {
    const store = this.host.store;
    store.setReplicaMode(false);
    const max = store.getMaxPhyOffset();
    // First start as master, or a log that lost its end (power loss): a new epoch from here.
    if (this.epochs.last.epoch === 0 || this.epochs.last.startOffset > max) this.epochs.newEpoch(max);
  }

  private startSlave(): void {
    const c = this.host.config;
    this.host.store.setReplicaMode(true);
    this.client = new HaClient({
      store: () => this.host.store,
      epochs: this.epochs,
      brokerName: c.brokerName,
      logger: this.logger,
      heartbeatMs: c.haHeartbeatMs,
      housekeepingMs: c.haHousekeepingMs,
      reconnectMs: c.haReconnectMs,
      onDisconnected: () => this.askWhoIsMaster(),
    });
    this.client.start();
    if (this.paused) this.client.setPaused(true);
    if (c.haMasterAddress) this.client.setMaster(c.haMasterAddress);
    this.syncRemoting = new RemotingClient({ logger: this.logger, connectTimeoutMs: 2000 });
    this.sync = new SlaveSynchronize({
      client: this.syncRemoting,
      topics: this.host.topics,
      groups: this.host.groups,
      offsets: this.host.offsets,
      logger: this.logger,
      intervalMs: c.slaveSyncIntervalMs,
      onDelayOffsets: (table) => this.saveDelayOffsets(table),
    });
    this.sync.start();
  }

  /** After a lost link: re-register (the answer names the master), at most every 3 s. */
  private askWhoIsMaster(): void {
    const now = Date.now();
    if (now - this.lastAsked < 3000) return;
    this.lastAsked = now;
    this.host.registerToNameServers();
  }

  /** A slave learns its master (address and HA address) from the NameServers' answers. */
  onRegistered(outcomes: RegisterBrokerOutcome[]): void {
    if (!this.isSlave) return;
    for (const o of outcomes) {
      if (!o.ok || !o.masterAddr) continue;
      if (!this.host.config.haMasterAddress && o.haServerAddr) this.client?.setMaster(o.haServerAddr, o.masterAddr);
      this.sync?.setMasterAddr(o.masterAddr);
      return;
    }
  }

  /** Points a slave at a master directly (the embedded cluster's controller after a promotion). */
  setMaster(masterAddr: string, haServerAddr: string): void {
    if (!this.isSlave) return;
    this.client?.setMaster(haServerAddr, masterAddr);
    this.sync?.setMasterAddr(masterAddr);
  }

  waitForReplica(endOffset: number): Promise<ReplicaOutcome> {
    if (!this.service) return Promise.resolve('SLAVE_NOT_AVAILABLE');
    return this.service.waitForReplica(endOffset);
  }

  /** Best offset a slave has acknowledged (-1 with no slave). */
  bestSlaveAck(): number {
    return this.service?.bestAckOffset() ?? -1;
  }

  /**
   * Slave → master: the link and the metadata copier stop (an append in flight finishes), the
   * store takes puts again, a new epoch starts at the log's end, and the node takes brokerId 0.
   * The caller re-registers with the NameServers.
   */
  async promote(role: 'ASYNC_MASTER' | 'SYNC_MASTER'): Promise<void> {
    const c = this.host.config;
    if (c.brokerRole !== 'SLAVE') throw new Error(`${c.brokerName}: node ${this.host.address} is already ${c.brokerRole}`);
    await this.client?.stop();
    await this.sync?.stop();
    this.clearSyncSoon();
    this.client = null;
    this.sync = null;
    this.syncRemoting?.close();
    this.syncRemoting = null;
    const store = this.host.store;
    store.setReplicaMode(false);
    const epoch = this.epochs.newEpoch(store.getMaxPhyOffset());
    c.brokerRole = role;
    c.brokerId = 0;
    this.logger.warn(`promoted to ${role} of ${c.brokerName} at offset ${epoch.startOffset} (epoch ${epoch.epoch})`);
  }

  /** A slave copies its master's metadata now (a switchover does, before the master stops). */
  async syncMetadataNow(): Promise<void> {
    await this.sync?.syncAll();
  }

  /** Fault control: a slave's replication link is cut (and stays cut) while paused. */
  setReplicationPaused(paused: boolean): void {
    this.paused = paused;
    this.client?.setPaused(paused);
  }

  status(): BrokerHaStatus {
    return {
      role: this.host.config.brokerRole,
      haAddress: this.haServerAddr,
      maxOffset: this.host.store ? this.host.store.getMaxPhyOffset() : 0,
      epochs: this.epochs.entries(),
      slaves: this.service?.slaves() ?? [],
      client: this.client?.status() ?? null,
      sync: this.sync?.status() ?? null,
      replicationPaused: this.paused,
    };
  }

  async stop(): Promise<void> {
    this.clearSyncSoon();
    await this.client?.stop();
    await this.sync?.stop();
    this.sync = null;
    this.syncRemoting?.close();
    await this.service?.stop();
  }

  private clearSyncSoon(): void {
    if (this.syncSoon) clearTimeout(this.syncSoon);
    this.syncSoon = null;
  }

  /** In-process kill: every socket closes now, nothing waits. */
  kill(): void {
    this.clearSyncSoon();
    void this.client?.stop();
    void this.sync?.stop();
    this.sync = null;
    this.syncRemoting?.close();
    this.service?.kill();
  }

  /**
   * The master's delay-level cursors go into this node's delay-offsets file (as a Java slave
   * writes delayOffset.json), so a promoted slave's schedule service resumes where the master
   * was instead of redelivering from each queue's start. A slave's schedule service does not
   * deliver, so it never writes that file itself. (The 5.x timer's progress is not in
   * GET_ALL_DELAY_OFFSET and is not copied.)
   */
  private saveDelayOffsets(table: Record<string, number>): void {
    if (JSON.stringify(table) === JSON.stringify(this.syncedDelayOffsets)) return;
    this.syncedDelayOffsets = table;
    try {
      const store = new DelayOffsetStore(path.join(this.host.config.dataDir, 'meta'));
      const { progress } = store.load();
      progress.levels = { ...table };
      store.save(progress);
    } catch (e) {
      this.logger.warn(`could not save the master's delay offsets: ${(e as Error).message}`);
    }
  }
}
