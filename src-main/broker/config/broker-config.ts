/**
 * Every broker default in one place, with why. RocketMQ: BrokerConfig.java, MessageStoreConfig.java.
 */
import os from 'node:os';
export type FlushMode = 'ASYNC' | 'SYNC';
export type BrokerRole = 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';

export interface BrokerConfig {
  clusterName: string;
  brokerName: string;
  /** 0 = master, >= 1 = slave (RocketMQ MixAll.MASTER_ID). */
  brokerId: number;
  brokerRole: BrokerRole;
  host: string;
  /** 0 picks a free port. */
  listenPort: number;
  dataDir: string;
  namesrvAddrs: string[];
  flushMode: FlushMode;
  /** Async flush period; RocketMQ flushIntervalCommitLog = 500 ms. */
  flushIntervalMs: number;
  /** Local dev broker: topics appear on first send, as with RocketMQ's autoCreateTopicEnable=true. */
  autoCreateTopicEnable: boolean;
  autoCreateSubscriptionGroup: boolean;
  /** Queues of auto-created topics (TBW102's writeQueueNums, RocketMQ defaultTopicQueueNums = 8). */
  defaultTopicQueueNums: number;
  /** Broker re-registration period with NameServers (RocketMQ registerNameServerPeriod = 30 s). */
  registerPeriodMs: number;
  /** Long-poll hold check (RocketMQ PullRequestHoldService: 5 s; we also wake on arrival). */
  longPollCheckMs: number;
  /** Consumer offsets persisted from memory to NeDB this often (RocketMQ flushConsumerOffsetInterval 5 s). */
  offsetPersistMs: number;
  /** Clients silent this long are dropped (RocketMQ channel expiry 120 s). */
  clientExpiryMs: number;
  maxMessageSize: number;
  commitLogSegmentSize: number;
  brokerPermission: number;
  regionId: string;
  /**
   * Delay of each level in ms, level 1 first (RocketMQ messageDelayLevel); unset = the 18 standard
   * levels 1s … 2h (DEFAULT_DELAY_LEVELS_MS). Retries use level 3 + reconsumeTimes.
   */
  delayLevelsMs?: number[];
  /** Half messages older than this get checked with their producer (RocketMQ transactionTimeOut, 6 s). */
  transactionTimeoutMs: number;
  /** Check scan period. Local dev broker: 10 s so checks come soon; RocketMQ transactionCheckInterval is 60 s in 4.x, 30 s in 5.x. */
  transactionCheckIntervalMs: number;
  /** Checks before a half message is discarded to TRANS_CHECK_MAX_TIME_TOPIC (RocketMQ transactionCheckMax, 15). */
  transactionCheckMax: number;
  /** An orderly consumer's queue lock lapses if not renewed this long (RocketMQ rebalance.lockMaxLiveTime, 60 s). */
  queueLockMaxLiveTimeMs: number;
  /** SQL92 property filtering. Local dev broker: on, so SQL92 subscriptions just work; RocketMQ enablePropertyFilter defaults to false. */
  enablePropertyFilter: boolean;
  // --- Replication (src-main/broker/ha; RocketMQ MessageStoreConfig HA knobs) ---
  /** HA listen port; -1 = listenPort + 1 (RocketMQ 10912 next to 10911), or a free one when listenPort is 0. */
  haListenPort: number;
  /** A slave's master HA address "ip:port"; empty = learned from REGISTER_BROKER's answer (haMasterAddress). */
  haMasterAddress: string;
  /** SYNC_MASTER waits this long for a slave ack, then FLUSH_SLAVE_TIMEOUT (RocketMQ syncFlushTimeout, 5 s). */
  haSyncTimeoutMs: number;
  /** SYNC_MASTER answers SLAVE_NOT_AVAILABLE when the best slave is further behind (haMaxGapNotInSync, 256 MiB). */
  haMaxGapNotInSync: number;
  /** Records per HA frame, in bytes (RocketMQ haTransferBatchSize is 32 KiB; see ha-protocol.ts for 256 KiB). */
  haTransferBatchBytes: number;
  /** Idle heartbeat both ways (haSendHeartbeatInterval, 5 s). */
  haHeartbeatMs: number;
  /** An HA peer silent this long is dropped (haHousekeepingInterval, 20 s). */
  haHousekeepingMs: number;
  /** A slave reconnects this often (RocketMQ: 5 s; 1 s here so a local cluster heals fast). */
  haReconnectMs: number;
  /** A slave copies topics, groups, consumer and delay offsets from its master this often (SlaveSynchronize, 10 s). */
  slaveSyncIntervalMs: number;
  /** Masters send lagging consumers to the slave (suggestWhichBrokerId); RocketMQ slaveReadEnable, false. */
  slaveReadEnable: boolean;
  /** "Lagging": the data asked for is this far behind the commitlog end (RocketMQ: 40 % of RAM, accessMessageInMemoryMaxRatio). */
  slaveReadLagBytes: number;
}

export function defaultBrokerConfig(overrides: Partial<BrokerConfig> & Pick<BrokerConfig, 'brokerName' | 'dataDir'>): BrokerConfig {
  return {
    clusterName: 'DefaultCluster',
    brokerId: 0,
    brokerRole: 'ASYNC_MASTER',
    host: '127.0.0.1',
    listenPort: 10911,
    namesrvAddrs: ['127.0.0.1:9876'],
    flushMode: 'ASYNC',
    flushIntervalMs: 500,
    autoCreateTopicEnable: true,
    autoCreateSubscriptionGroup: true,
    defaultTopicQueueNums: 8,
    registerPeriodMs: 30_000,
    longPollCheckMs: 5_000,
    offsetPersistMs: 5_000,
    clientExpiryMs: 120_000,
    maxMessageSize: 4 * 1024 * 1024,
    commitLogSegmentSize: 1024 * 1024 * 1024,
    brokerPermission: 6,
    regionId: 'DefaultRegion',
    transactionTimeoutMs: 6_000,
    transactionCheckIntervalMs: 10_000,
    transactionCheckMax: 15,
    queueLockMaxLiveTimeMs: 60_000,
    enablePropertyFilter: true,
    haListenPort: -1,
    haMasterAddress: '',
    haSyncTimeoutMs: 5_000,
    haMaxGapNotInSync: 256 * 1024 * 1024,
    haTransferBatchBytes: 256 * 1024,
    haHeartbeatMs: 5_000,
    haHousekeepingMs: 20_000,
    haReconnectMs: 1_000,
    slaveSyncIntervalMs: 10_000,
    slaveReadEnable: false,
    slaveReadLagBytes: Math.floor(os.totalmem() * 0.4),
    ...overrides,
  };
}
