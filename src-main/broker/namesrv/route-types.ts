/**
 * Route and topic shapes shared by the NameServer, the brokers and the console.
 * These are the JSON bodies of RocketMQ's wire protocol (reference §8), with the serialized field names.
 * RocketMQ: TopicConfig, DataVersion, route/QueueData, route/BrokerData, route/TopicRouteData, body/ClusterInfo.
 */

/** RocketMQ MixAll.MASTER_ID: broker id 0 is the master of its group; slaves are 1, 2, … */
export const MASTER_ID = 0;

/** PermName bits. */
export const PermName = { PRIORITY: 0x8, READ: 0x4, WRITE: 0x2, INHERIT: 0x1 } as const;

/** KV namespace whose entries ("brokerA:4;brokerB:4") define ordered topics. RocketMQ: NamesrvUtil. */
export const NAMESPACE_ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';

export type TopicFilterType = 'SINGLE_TAG' | 'MULTI_TAG';

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: TopicFilterType;
  topicSysFlag: number;
  order: boolean;
  /** 5.x only; 4.x brokers send none. */
  attributes?: Record<string, string>;
}

/** A broker's version of its topic table. Equal versions mean the NameServer's copy is current. */
export interface DataVersion {
  stateVersion: number;
  timestamp: number;
  counter: number;
}

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  /** Spelled `topicSynFlag` before 4.9.0; readers should accept both. */
  topicSysFlag: number;
}

/** One broker group. brokerAddrs keys are broker ids in decimal ("0" = master). */
export interface BrokerData {
  cluster: string;
  brokerName: string;
  brokerAddrs: Record<string, string>;
  zoneName?: string;
  enableActingMaster?: boolean;
}

export interface TopicRouteData {
  orderTopicConf?: string;
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
  filterServerTable: Record<string, string[]>;
}

export interface ClusterInfo {
  brokerAddrTable: Record<string, BrokerData>;
  clusterAddrTable: Record<string, string[]>;
}

export interface TopicList {
  topicList: string[];
  brokerAddr?: string;
}

export interface KVTable {
  table: Record<string, string>;
}
