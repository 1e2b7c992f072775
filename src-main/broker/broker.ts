/**
 * One broker node: store + metadata + client registry behind a remoting server, registered with
 * every NameServer. Lifecycle as RocketMQ's BrokerController: load → recover → start → shutdown.
 */
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { RemotingServer } from '../remoting/remoting-server.js';
import { RemotingClient } from '../remoting/remoting-client.js';
import { createLogger, type Logger } from '../remoting/logger.js';
import type { BrokerConfig } from './config/broker-config.js';
import type { BrokerContext } from './broker-context.js';
import { MessageStore } from './store/message-store.js';
import { TopicConfigManager } from './metadata/topic-config-manager.js';
import { SubscriptionGroupManager } from './metadata/subscription-group-manager.js';
import { ConsumerOffsetManager } from './metadata/consumer-offset-manager.js';
import { ClientRegistry } from './client/client-registry.js';
import { BrokerStats } from './stats/broker-stats.js';
import { PullProcessor } from './processor/pull-processor.js';
import { registerBrokerProcessors } from './processor/processor-table.js';
import { ScheduleMessageService } from './schedule/schedule-message-service.js';
import { TIMER_TOPIC, checkDelayLevels, scheduleTagsCode } from './schedule/schedule-routing.js';
import { registerBrokerAll, unregisterBroker } from './namesrv/namesrv-client.js';
import { BrokerHa } from './ha/broker-ha.js';
import { QueueLockManager } from './client/queue-lock-manager.js';
import { TransactionService } from './transaction/transaction-service.js';
import { TransactionCheckService } from './transaction/transaction-check-service.js';
import type { TopicConfig } from './namesrv/route-types.js';

/** RocketMQ messageDelayLevel: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h. */
export const DEFAULT_DELAY_LEVELS_MS = [
  1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
].map((s) => s * 1000);

export type BrokerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'killed';

export class BrokerNode implements BrokerContext {
  readonly store: MessageStore;
  readonly topics: TopicConfigManager;
  readonly groups: SubscriptionGroupManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients = new ClientRegistry();
  readonly stats = new BrokerStats();
  readonly delayLevels: number[];
  /** Created with the store in start(). */
  schedule: ScheduleMessageService | null = null;
  /** Orderly consumers' queue locks (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ). */
  readonly queueLocks: QueueLockManager;
  /** Half messages, END_TRANSACTION, pending list and totals for the console; created in start(). */
  transactions: TransactionService | null = null;
  private transactionCheck: TransactionCheckService | null = null;
  bootTimestamp = Date.now();
  state: BrokerState = 'created';
  private readonly server: RemotingServer;
  private readonly namesrvClient: RemotingClient;
  private readonly pull: PullProcessor;
  private readonly logger: Logger;
  private registerTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private registerScheduled = false;
  private registering: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;

  constructor(readonly config: BrokerConfig) {
    this.logger = createLogger(`${config.brokerName}-${config.brokerId}`);
    this.delayLevels = [...(config.delayLevelsMs ?? DEFAULT_DELAY_LEVELS_MS)];
    checkDelayLevels(this.delayLevels);
    mkdirSync(config.dataDir, { recursive: true });
    const metaDir = path.join(config.dataDir, 'meta');
    mkdirSync(metaDir, { recursive: true });
    this.server = new RemotingServer({ host: config.host, port: config.listenPort, logger: this.logger });
    this.namesrvClient = new RemotingClient({ logger: this.logger, connectTimeoutMs: 2000 });
    this.topics = new TopicConfigManager(metaDir, config.clusterName, config.brokerName, config.defaultTopicQueueNums);
    this.groups = new SubscriptionGroupManager(metaDir);
    this.offsets = new ConsumerOffsetManager(metaDir, config.offsetPersistMs);
    // The store host is only known once the port is bound; the store is created in start().
    this.store = undefined as unknown as MessageStore;
    this.pull = new PullProcessor(this);
    this.ha = new BrokerHa(this, this.logger);
    this.queueLocks = new QueueLockManager(() => this.config.queueLockMaxLiveTimeMs);
  }

  /** Replication: HA listener/client, epochs, role changes (src-main/broker/ha). */
  readonly ha: BrokerHa;

  get address(): string {
    return this.server.address;
  }

  get port(): number {
    return this.server.port;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    this.stopping = null;
    this.bootTimestamp = Date.now();
    await this.server.start();
    const store = new MessageStore({
      storeDir: this.config.dataDir,
      storeHost: this.address,
      flushMode: this.config.flushMode,
      flushIntervalMs: this.config.flushIntervalMs,
      maxMessageSize: this.config.maxMessageSize,
      commitLogSegmentSize: this.config.commitLogSegmentSize,
      // Delay due times are derived from each record, so rebuilt consume queues get them back.
      tagsCodeResolver: (topic, properties, storeTimestamp) => scheduleTagsCode(topic, properties, storeTimestamp, this.delayLevels),
    });
    (this as { store: MessageStore }).store = store;
    const report = await store.open();
    this.logger.info(`store opened: ${JSON.stringify(report)}`);
    await this.topics.load();
    await this.groups.load();
    await this.offsets.load();
    // Replication: HA listener (served while master), slave link and metadata copy (while slave).
    await this.ha.start();
    // Delay levels and exact-time delivery: only masters deliver (RocketMQ ScheduleMessageService).
    this.topics.createSystemLike(TIMER_TOPIC, 1);
    this.schedule = new ScheduleMessageService({
      store, delayLevelsMs: this.delayLevels, metaDir: path.join(this.config.dataDir, 'meta'), logger: this.logger,
    });
    this.schedule.start(this.config.brokerRole !== 'SLAVE');
    // Transactions: state rebuilt from the half/op queues; only masters check back with producers.
    this.transactions = new TransactionService(this, path.join(this.config.dataDir, 'meta'), this.logger);
    this.transactions.load();
    this.transactionCheck = new TransactionCheckService(this, this.transactions, this.logger);
    if (this.config.brokerRole !== 'SLAVE') this.transactionCheck.start();
    registerBrokerProcessors(this.server, this, this.pull, this.logger);
    this.pull.start();
    this.stats.start();
    this.expiryTimer = setInterval(() => this.clients.expire(this.config.clientExpiryMs), 10_000);
    this.expiryTimer.unref();
    await this.registerNow();
    this.registerTimer = setInterval(() => this.registerToNameServers(), this.config.registerPeriodMs);
    this.registerTimer.unref();
    this.state = 'running';
    this.logger.info(`broker ${this.config.brokerName}(${this.config.brokerId}) serving on ${this.address}`);
  }

  /** Clean stop: unregister, answer held pulls, flush the store, persist metadata. */
  stop(): Promise<void> {
    // A second caller waits for the stop in progress instead of returning while it still runs.
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    this.clearTimers();
    await Promise.race([
      unregisterBroker(this.namesrvClient, this.config.namesrvAddrs, this.registrationInfo()).catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    this.pull.stop();
    await this.server.stop();
    this.namesrvClient.close();
    await this.registering.catch(() => undefined);
    await this.ha.stop();
    // After the server (no new sends) and before the store: the batch in flight finishes, offsets are saved.
    await this.schedule?.stop();
    await this.transactionCheck?.stop();
    if (this.store) await this.store.close();
    await this.offsets.close();
    await this.groups.close();
    await this.topics.close();
    this.stats.stop();
    this.state = 'stopped';
  }

  hasUnexpiredQueueLocks(group: string): boolean {
    return this.queueLocks.hasUnexpiredLocks(group);
  }

  /** Coalesces registration requests made in one tick (e.g. many auto-created topics). */
  registerToNameServers(): void {
    if (this.registerScheduled || this.state === 'stopping' || this.state === 'stopped') return;
    this.registerScheduled = true;
    setImmediate(() => {
      this.registerScheduled = false;
      void this.registerNow();
    });
  }

  private registerNow(): Promise<void> {
    const run = async (): Promise<void> => {
      const topicConfigTable: Record<string, TopicConfig> = {};
      for (const t of this.topics.all()) topicConfigTable[t.topicName] = t;
      try {
        const outcomes = await registerBrokerAll(this.namesrvClient, this.config.namesrvAddrs, this.registrationInfo(), topicConfigTable,
          { ...this.topics.dataVersion });
        this.ha.onRegistered(outcomes);
      } catch (err) {
        this.logger.warn(`register to NameServers failed: ${(err as Error).message}`);
      }
    };
    this.registering = this.registering.then(run, run);
    return this.registering;
  }

  private registrationInfo(): { clusterName: string; brokerName: string; brokerAddr: string; brokerId: number; haServerAddr: string } {
    return {
      clusterName: this.config.clusterName,
      brokerName: this.config.brokerName,
      brokerAddr: this.address,
      brokerId: this.config.brokerId,
      haServerAddr: this.ha.haServerAddr,
    };
  }

  /**
   * Fault control, in-process "kill -9": sockets close and timers stop at once; nothing is
   * unregistered, flushed, checkpointed or persisted (the store keeps its abort file and
   * recovers at the next start). NameServers drop the node when its connection closes.
   */
  kill(): void {
    if (this.state === 'stopped' || this.state === 'killed') return;
    this.state = 'killed';
    this.clearTimers();
    this.ha.kill();
    void this.server.stop();
    this.namesrvClient.close();
    this.pull.stop();
    void this.schedule?.stop().catch(() => undefined);
    void this.transactionCheck?.stop().catch(() => undefined);
    this.store?.abandon();
    this.offsets.abandon();
    this.stats.stop();
    this.stopping = Promise.resolve();
  }

  /** Slave → master (manual or automatic failover); re-registers as brokerId 0 at once. */
  async promote(role: 'ASYNC_MASTER' | 'SYNC_MASTER'): Promise<void> {
    await this.ha.promote(role);
    // Only masters deliver delayed messages and check transactions.
    this.schedule?.start(true);
    this.transactionCheck?.start();
    await this.registerNow();
  }

  private clearTimers(): void {
    if (this.registerTimer) clearInterval(this.registerTimer);
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.registerTimer = null;
    this.expiryTimer = null;
  }
}
