/**
 * Every broker default in one place, with why. RocketMQ: BrokerConfig.java, MessageStoreConfig.java.
 */
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
    ...overrides,
  };
}
