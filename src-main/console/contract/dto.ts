/**
 * Response types, one per channel. A value the cluster did not give is `null` (the page shows it
 * as unknown), never -1. Times are epoch milliseconds. Pure types.
 */

export interface AppInfo {
  version: string;
  mode: 'electron' | 'headless';
  /** The embedded cluster's NameServer address; null until it runs, or when it is off. */
  namesrvAddr: string | null;
}

export interface NameServerStatus {
  address: string;
  reachable: boolean;
}

export interface BrokerNodeStatus {
  brokerId: number;
  /** MASTER / SLAVE from the broker id; runtimeRole is what the broker reports (ASYNC_MASTER…). */
  role: 'MASTER' | 'SLAVE';
  runtimeRole: string | null;
  address: string;
  version: string | null;
  /** Messages per second over the last 10 s (putTps / getTransferredTps). */
  tpsIn: number | null;
  tpsOut: number | null;
  msgPutToday: number | null;
  msgGetToday: number | null;
  /** Fraction 0..1 of the commitlog disk in use. */
  diskRatio: number | null;
  diskUsedBytes: number | null;
  commitLogMaxOffset: number | null;
  bootTimestamp: number | null;
  /** Why the runtime info is missing, when it is. */
  error: string | null;
}

export interface BrokerGroupStatus {
  cluster: string;
  brokerName: string;
  nodes: BrokerNodeStatus[];
}

export interface ClusterOverview {
  connectionId: string;
  nameServers: NameServerStatus[];
  clusters: string[];
  brokerGroups: BrokerGroupStatus[];
  fetchedAt: number;
}

export type TopicKind = 'NORMAL' | 'RETRY' | 'DLQ' | 'SYSTEM';

export interface TopicSummary {
  name: string;
  kind: TopicKind;
  brokers: string[];
  readQueueNums: number | null;
  writeQueueNums: number | null;
  perm: number | null;
  order: boolean | null;
}

export interface TopicList {
  topics: TopicSummary[];
  /** All topics the NameServer knows, before the filters. */
  total: number;
  /** Some broker did not answer: queue counts of its topics may be missing. */
  partial: boolean;
  errors: string[];
}

export interface TopicQueue {
  brokerName: string;
  queueId: number;
  minOffset: number;
  maxOffset: number;
  lastStoreTime: number | null;
}

export interface TopicDetail {
  topic: string;
  kind: TopicKind;
  brokers: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }>;
  queues: TopicQueue[];
  totalMessages: number;
  /** Groups with offsets or subscriptions on this topic; null when no broker answered. */
  consumerGroups: string[] | null;
  errors: string[];
}

export interface GroupSummary {
  name: string;
  system: boolean;
  brokers: string[];
  onlineClients: number | null;
  totalLag: number | null;
  consumeTps: number | null;
  messageModel: string | null;
  consumeType: string | null;
  orderly: boolean | null;
  retryMaxTimes: number | null;
}

export interface GroupList {
  groups: GroupSummary[];
  total: number;
  /** The budget ran out or a broker failed: some lags are null. */
  partial: boolean;
  errors: string[];
}

export interface GroupSubscription {
  topic: string;
  expressionType: string;
  expression: string;
}

export interface GroupClient {
  clientId: string;
  address: string | null;
  language: string | null;
  version: number | null;
}

export interface GroupQueueOffset {
  topic: string;
  brokerName: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
  lag: number;
  lastTimestamp: number | null;
}

export interface GroupDetail {
  group: string;
  exists: boolean;
  config: {
    consumeEnable: boolean | null;
    consumeBroadcastEnable: boolean | null;
    consumeMessageOrderly: boolean | null;
    retryMaxTimes: number | null;
    retryQueueNums: number | null;
  } | null;
  online: boolean;
  consumeType: string | null;
  messageModel: string | null;
  consumeFromWhere: string | null;
  subscriptions: GroupSubscription[];
  clients: GroupClient[];
  queues: GroupQueueOffset[];
  totalLag: number;
  consumeTps: number | null;
  errors: string[];
}

export interface ResetOffsetQueue {
  brokerName: string;
  queueId: number;
  currentOffset: number | null;
  newOffset: number | null;
}

export interface ResetOffsetResult {
  applied: boolean;
  queues: ResetOffsetQueue[];
  /** The group's offsets on the topic just before an applied reset (group:offset-restore writes them back); null on a preview. */
  snapshotId: string | null;
}

export interface MessageRow {
  /** Offset message id: store host + commitlog offset. */
  msgId: string;
  /** The client's unique key (UNIQ_KEY), when the producer set one. */
  uniqKey: string | null;
  topic: string;
  brokerName: string | null;
  queueId: number;
  queueOffset: number;
  commitLogOffset: number;
  tags: string | null;
  keys: string | null;
  bornTimestamp: number;
  storeTimestamp: number;
  bornHost: string;
  storeHost: string;
  bodySize: number;
  reconsumeTimes: number;
  /** First characters of the body as UTF-8 text, for the table. */
  preview: string;
}

export interface MessageDetail extends MessageRow {
  properties: Record<string, string>;
  /** Body (uncompressed) in base64, cut at MAX_DETAIL_BODY_BYTES. */
  body: string;
  bodyTruncated: boolean;
  compressed: boolean;
  sysFlag: number;
  flag: number;
  bodyCRC: number;
}

export interface BrowseResult {
  messages: MessageRow[];
  /** Where the next page starts. */
  nextOffset: number;
  minOffset: number | null;
  maxOffset: number | null;
  partial: boolean;
  /** Which budget stopped the scan, when partial ('cancelled': the page cancelled it). */
  stoppedBy: 'rows' | 'time' | 'cancelled' | null;
}

export interface MessageByIdResult {
  messages: MessageDetail[];
  via: 'offsetId' | 'uniqueKey' | null;
}

export interface MessageQueryResult {
  messages: MessageRow[];
  partial: boolean;
  stoppedBy: 'rows' | 'time' | 'cancelled' | null;
  errors: string[];
}

export interface SendResult {
  msgId: string;
  uniqKey: string;
  brokerName: string;
  queueId: number;
  queueOffset: number | null;
  status: string;
}

export interface TailStarted {
  tailId: string;
}

/** Payload of a `playground:tail` event. */
export interface TailEvent {
  tailId: string;
  messages: MessageRow[];
  error: string | null;
}

export interface ConnectionInfo {
  id: string;
  name: string;
  namesrvAddr: string;
  kind: 'embedded' | 'remote';
  accessKey: string | null;
  hasSecret: boolean;
  updatedAt: number | null;
  /** Every write channel (and every write request code) is refused on this connection. */
  readOnly: boolean;
  /** Broker address rewrites (NAT, containers), first match wins. */
  addressRewrites: Array<{ from: string; to: string }>;
}

export interface ConnectionTestResult {
  ok: boolean;
  latencyMs: number | null;
  clusters: string[];
  brokerCount: number;
  error: string | null;
}

export interface Done {
  ok: true;
}
