/**
 * The NameServer's route tables. RocketMQ: namesrv/routeinfo/RouteInfoManager.java.
 *
 *   brokerAddrTable   brokerName → { cluster, brokerName, brokerAddrs: brokerId → "ip:port" }
 *   clusterAddrTable  clusterName → { brokerName }
 *   topicQueueTable   topic → brokerName → QueueData (from the group master's topic configs)
 *   brokerLiveTable   brokerAddr → last registration time, DataVersion, connection id, HA address
 *
 * Invariants: every brokerName in clusterAddrTable has a non-empty brokerAddrs entry; a broker address
 * appears under at most one id of its group (a promoted slave re-registers as 0 and its old id goes).
 * A group's QueueData stay while any of its addresses is registered, as in Java: clients publish only to
 * groups with a master (id 0), and consumers keep reading from the slave while the master is away.
 * The group's QueueData go when its last address goes (or with its master, if dropQueueDataWithMaster).
 * All methods are synchronous and never throw on unknown names; callers validate input first.
 */
import type { Logger } from '../../remoting/logger.js';
import { createLogger } from '../../remoting/logger.js';
import {
  MASTER_ID, PermName,
  type BrokerData, type ClusterInfo, type DataVersion, type QueueData, type TopicConfig, type TopicList,
  type TopicRouteData,
} from './route-types.js';

/** RocketMQ DEFAULT_BROKER_CHANNEL_EXPIRED_TIME: a broker silent this long is dropped. */
export const DEFAULT_BROKER_EXPIRY_MS = 120_000;

export interface BrokerLiveInfo {
  lastUpdateTimestamp: number;
  dataVersion: DataVersion;
  /** RemotingConnection.id of the connection it last registered over (absent for in-process calls). */
  connectionId?: number;
  haServerAddr: string;
  /** 5.x brokers may send their own expiry (heartbeatTimeoutMillis); otherwise the NameServer default. */
  heartbeatTimeoutMillis?: number;
}

export interface RegisterBrokerRequest {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
  haServerAddr: string;
  /** The broker's topic configs; null when the request had no body (Java then uses DataVersion 0/0). */
  topicConfigTable: Record<string, TopicConfig> | null;
  dataVersion: DataVersion;
  connectionId?: number;
  heartbeatTimeoutMillis?: number;
  zoneName?: string;
  enableActingMaster?: boolean;
}

/** For a slave: its master's address and HA address, when the master is registered. */
export interface RegisterBrokerResult {
  masterAddr?: string;
  haServerAddr?: string;
}

export interface RemovedBroker {
  brokerAddr: string;
  connectionId?: number;
}

export interface RouteInfoManagerOptions {
  /** Default expiry for brokers that send no heartbeatTimeoutMillis (120 s). */
  brokerExpiryMs?: number;
  /**
   * Drop a group's QueueData as soon as its master goes, even with slaves registered. Java keeps them
   * (consumers read from the slave); default false.
   */
  dropQueueDataWithMaster?: boolean;
  logger?: Logger;
  now?: () => number;
}

interface BrokerGroup {
  cluster: string;
  brokerName: string;
  brokerAddrs: Map<number, string>;
  zoneName?: string;
  enableActingMaster: boolean;
}

export function dataVersionEquals(a: DataVersion | undefined, b: DataVersion | undefined): boolean {
  if (!a || !b) return false;
  return a.timestamp === b.timestamp && a.counter === b.counter && (a.stateVersion ?? 0) === (b.stateVersion ?? 0);
}

export class RouteInfoManager {
  private readonly brokerAddrTable = new Map<string, BrokerGroup>();
  private readonly clusterAddrTable = new Map<string, Set<string>>();
  private readonly topicQueueTable = new Map<string, Map<string, QueueData>>();
  private readonly brokerLiveTable = new Map<string, BrokerLiveInfo>();
  private readonly logger: Logger;
  private readonly now: () => number;
  readonly brokerExpiryMs: number;
  private readonly dropQueueDataWithMaster: boolean;

  constructor(options: RouteInfoManagerOptions = {}) {
    this.brokerExpiryMs = options.brokerExpiryMs ?? DEFAULT_BROKER_EXPIRY_MS;
    this.dropQueueDataWithMaster = options.dropQueueDataWithMaster ?? false;
    this.logger = options.logger ?? createLogger('namesrv');
    this.now = options.now ?? Date.now;
  }

  /**
   * RocketMQ: RouteInfoManager#registerBroker. A master's topic configs become QueueData when its
   * DataVersion differs from the last one seen from that address, or on its first registration.
   */
  registerBroker(req: RegisterBrokerRequest): RegisterBrokerResult {
    const { clusterName, brokerAddr, brokerName, brokerId } = req;
    let names = this.clusterAddrTable.get(clusterName);
    if (!names) {
      names = new Set();
      this.clusterAddrTable.set(clusterName, names);
    }
    names.add(brokerName);

    let registerFirst = false;
    let group = this.brokerAddrTable.get(brokerName);
    if (!group) {
      registerFirst = true;
      group = { cluster: clusterName, brokerName, brokerAddrs: new Map(), enableActingMaster: false };
      this.brokerAddrTable.set(brokerName, group);
    }
    if (req.zoneName !== undefined) group.zoneName = req.zoneName;
    if (req.enableActingMaster !== undefined) group.enableActingMaster = req.enableActingMaster;
    // One address, one id: a slave promoted to master re-registers the same address as id 0.
    for (const [id, addr] of group.brokerAddrs) {
      if (addr === brokerAddr && id !== brokerId) group.brokerAddrs.delete(id);
    }
    const oldAddr = group.brokerAddrs.get(brokerId);
    group.brokerAddrs.set(brokerId, brokerAddr);
    registerFirst = registerFirst || oldAddr === undefined;

    if (req.topicConfigTable && brokerId === MASTER_ID) {
      if (registerFirst || this.isBrokerTopicConfigChanged(brokerAddr, req.dataVersion)) {
        for (const [key, config] of Object.entries(req.topicConfigTable)) {
          this.createAndUpdateQueueData(brokerName, config.topicName || key, config);
        }
      }
    }

    const prev = this.brokerLiveTable.get(brokerAddr);
    this.brokerLiveTable.set(brokerAddr, {
      lastUpdateTimestamp: this.now(),
      dataVersion: { ...req.dataVersion },
      connectionId: req.connectionId,
      haServerAddr: req.haServerAddr,
      heartbeatTimeoutMillis: req.heartbeatTimeoutMillis,
    });
    if (!prev) this.logger.info(`new broker registered: ${brokerName}/${brokerId} ${brokerAddr} HA ${req.haServerAddr}`);

    const result: RegisterBrokerResult = {};
    if (brokerId !== MASTER_ID) {
      const masterAddr = group.brokerAddrs.get(MASTER_ID);
      const masterLive = masterAddr !== undefined ? this.brokerLiveTable.get(masterAddr) : undefined;
      if (masterAddr !== undefined && masterLive) {
        result.masterAddr = masterAddr;
        result.haServerAddr = masterLive.haServerAddr;
      }
    }
    return result;
  }

  /** RocketMQ: RouteInfoManager#unregisterBroker (5.x removes by address, so a promoted slave's id stays). */
  unregisterBroker(clusterName: string, brokerAddr: string, brokerName: string, brokerId: number): void {
    this.logger.info(`unregister broker ${clusterName}/${brokerName}/${brokerId} ${brokerAddr}`);
    this.removeBrokerAddr(brokerAddr, brokerName);
  }

  /** Removes every broker that registered over this connection (RocketMQ: onChannelDestroy). */
  onConnectionClosed(connectionId: number): string[] {
    const addrs: string[] = [];
    for (const [addr, live] of this.brokerLiveTable) {
      if (live.connectionId === connectionId) addrs.push(addr);
    }
    for (const addr of addrs) {
      this.logger.info(`broker ${addr} connection closed; removing it from the route tables`);
      this.removeBrokerAddr(addr);
    }
    return addrs;
  }

  /**
   * Drops brokers silent longer than their expiry (RocketMQ: scanNotActiveBroker). Returns them so the
   * caller can close their connections.
   */
  scanNotActiveBroker(): RemovedBroker[] {
    const now = this.now();
    const expired: RemovedBroker[] = [];
    for (const [addr, live] of this.brokerLiveTable) {
      const timeout = live.heartbeatTimeoutMillis ?? this.brokerExpiryMs;
      if (live.lastUpdateTimestamp + timeout < now) expired.push({ brokerAddr: addr, connectionId: live.connectionId });
    }
    for (const e of expired) {
      this.logger.warn(`broker ${e.brokerAddr} expired: no registration for longer than its timeout`);
      this.removeBrokerAddr(e.brokerAddr);
    }
    return expired;
  }

  /** Whether any registered broker still uses this connection. */
  isConnectionInUse(connectionId: number): boolean {
    for (const live of this.brokerLiveTable.values()) if (live.connectionId === connectionId) return true;
    return false;
  }

  /** RocketMQ: RouteInfoManager#pickupTopicRouteData. Null when the topic has no queues or no live group. */
  pickupTopicRouteData(topic: string): TopicRouteData | null {
    const queueMap = this.topicQueueTable.get(topic);
    if (!queueMap || queueMap.size === 0) return null;
    const queueDatas = [...queueMap.values()]
      .map((q) => ({ ...q }))
      .sort((a, b) => compareStrings(a.brokerName, b.brokerName));
    const brokerDatas: BrokerData[] = [];
    for (const q of queueDatas) {
      const group = this.brokerAddrTable.get(q.brokerName);
      if (group) brokerDatas.push(toBrokerData(group));
    }
    if (brokerDatas.length === 0) return null;
    return { queueDatas, brokerDatas, filterServerTable: {} };
  }

  getClusterInfo(): ClusterInfo {
    const brokerAddrTable: Record<string, BrokerData> = {};
    for (const [name, group] of this.brokerAddrTable) brokerAddrTable[name] = toBrokerData(group);
    const clusterAddrTable: Record<string, string[]> = {};
    for (const [cluster, names] of this.clusterAddrTable) clusterAddrTable[cluster] = [...names].sort(compareStrings);
    return { brokerAddrTable, clusterAddrTable };
  }

  getAllTopicList(): string[] {
    return [...this.topicQueueTable.keys()];
  }

  /** Topics with queues on any broker group of the cluster (empty for an unknown cluster). */
  getTopicsByCluster(cluster: string): string[] {
    const names = this.clusterAddrTable.get(cluster);
    if (!names) return [];
    const topics: string[] = [];
    for (const [topic, queueMap] of this.topicQueueTable) {
      for (const name of names) {
        if (queueMap.has(name)) {
          topics.push(topic);
          break;
        }
      }
    }
    return topics;
  }

  /**
   * RocketMQ: RouteInfoManager#getSystemTopicList: every cluster name and broker name (topics each broker
   * creates), and one broker address (a master when there is one) so a tool can ask it for the rest.
   */
  getSystemTopicList(): TopicList {
    const topics = new Set<string>();
    for (const [cluster, names] of this.clusterAddrTable) {
      topics.add(cluster);
      for (const n of names) topics.add(n);
    }
    const list: TopicList = { topicList: [...topics] };
    let anyAddr: string | undefined;
    for (const group of this.brokerAddrTable.values()) {
      const master = group.brokerAddrs.get(MASTER_ID);
      if (master !== undefined) {
        list.brokerAddr = master;
        break;
      }
      anyAddr ??= group.brokerAddrs.values().next().value;
    }
    if (list.brokerAddr === undefined && anyAddr !== undefined) list.brokerAddr = anyAddr;
    return list;
  }

  /**
   * Deletes a topic's route, or with clusterName only the QueueData of that cluster's groups.
   * Returns whether anything was removed.
   */
  deleteTopic(topic: string, clusterName?: string): boolean {
    if (clusterName === undefined || clusterName === '') return this.topicQueueTable.delete(topic);
    const names = this.clusterAddrTable.get(clusterName);
    const queueMap = this.topicQueueTable.get(topic);
    if (!names || !queueMap) return false;
    let removed = false;
    for (const n of names) removed = queueMap.delete(n) || removed;
    if (queueMap.size === 0) this.topicQueueTable.delete(topic);
    return removed;
  }

  /** Clears WRITE on every QueueData of the group; returns how many topics it touched. */
  wipeWritePermOfBroker(brokerName: string): number {
    return this.operateWritePerm(brokerName, (perm) => perm & ~PermName.WRITE);
  }

  /**
   * Gives every QueueData of the group READ and WRITE; returns how many topics it touched.
   * Java sets perm = READ|WRITE; we also keep INHERIT/PRIORITY bits so a template topic stays one.
   */
  addWritePermOfBroker(brokerName: string): number {
    return this.operateWritePerm(brokerName, (perm) => perm | PermName.READ | PermName.WRITE);
  }

  isBrokerTopicConfigChanged(brokerAddr: string, dataVersion: DataVersion): boolean {
    const prev = this.queryBrokerTopicConfig(brokerAddr);
    return !prev || !dataVersionEquals(prev, dataVersion);
  }

  queryBrokerTopicConfig(brokerAddr: string): DataVersion | undefined {
    const live = this.brokerLiveTable.get(brokerAddr);
    return live ? { ...live.dataVersion } : undefined;
  }

  /** QUERY_DATA_VERSION with an unchanged version counts as a heartbeat. */
  updateBrokerInfoUpdateTimestamp(brokerAddr: string): void {
    const live = this.brokerLiveTable.get(brokerAddr);
    if (live) live.lastUpdateTimestamp = this.now();
  }

  getBrokerLiveInfo(brokerAddr: string): BrokerLiveInfo | undefined {
    const live = this.brokerLiveTable.get(brokerAddr);
    return live ? { ...live, dataVersion: { ...live.dataVersion } } : undefined;
  }

  liveBrokerAddrs(): string[] {
    return [...this.brokerLiveTable.keys()];
  }

  getBrokerData(brokerName: string): BrokerData | undefined {
    const group = this.brokerAddrTable.get(brokerName);
    return group ? toBrokerData(group) : undefined;
  }

  /** RocketMQ: RouteInfoManager#createAndUpdateQueueData. */
  private createAndUpdateQueueData(brokerName: string, topic: string, config: TopicConfig): void {
    const queueData: QueueData = {
      brokerName,
      readQueueNums: config.readQueueNums,
      writeQueueNums: config.writeQueueNums,
      perm: config.perm,
      topicSysFlag: config.topicSysFlag,
    };
    let queueMap = this.topicQueueTable.get(topic);
    if (!queueMap) {
      queueMap = new Map();
      this.topicQueueTable.set(topic, queueMap);
      this.logger.info(`new topic registered: ${topic} on ${brokerName}`);
    }
    queueMap.set(brokerName, queueData);
  }

  private operateWritePerm(brokerName: string, change: (perm: number) => number): number {
    let count = 0;
    for (const queueMap of this.topicQueueTable.values()) {
      const qd = queueMap.get(brokerName);
      if (qd) {
        qd.perm = change(qd.perm);
        count++;
      }
    }
    return count;
  }

  /**
   * Forgets one broker address: its live entry, its id in the group (looked up by brokerNameHint first,
   * then in every group), the group when it has no address left, and then the group's QueueData.
   */
  private removeBrokerAddr(brokerAddr: string, brokerNameHint?: string): void {
    this.brokerLiveTable.delete(brokerAddr);
    const groups: BrokerGroup[] = [];
    const hinted = brokerNameHint !== undefined ? this.brokerAddrTable.get(brokerNameHint) : undefined;
    if (hinted && [...hinted.brokerAddrs.values()].includes(brokerAddr)) groups.push(hinted);
    else {
      for (const g of this.brokerAddrTable.values()) {
        if ([...g.brokerAddrs.values()].includes(brokerAddr)) groups.push(g);
      }
    }
    for (const group of groups) {
      let removedMaster = false;
      for (const [id, addr] of group.brokerAddrs) {
        if (addr !== brokerAddr) continue;
        group.brokerAddrs.delete(id);
        if (id === MASTER_ID) removedMaster = true;
      }
      if (group.brokerAddrs.size === 0) {
        this.brokerAddrTable.delete(group.brokerName);
        for (const [cluster, names] of this.clusterAddrTable) {
          names.delete(group.brokerName);
          if (names.size === 0) this.clusterAddrTable.delete(cluster);
        }
        this.removeTopicByBrokerName(group.brokerName);
        this.logger.info(`broker group ${group.brokerName} has no address left; its routes are removed`);
      } else if (removedMaster && this.dropQueueDataWithMaster) {
        this.removeTopicByBrokerName(group.brokerName);
      }
    }
  }

  private removeTopicByBrokerName(brokerName: string): void {
    for (const [topic, queueMap] of this.topicQueueTable) {
      queueMap.delete(brokerName);
      if (queueMap.size === 0) this.topicQueueTable.delete(topic);
    }
  }
}

function toBrokerData(group: BrokerGroup): BrokerData {
  const brokerAddrs: Record<string, string> = {};
  for (const [id, addr] of [...group.brokerAddrs].sort((a, b) => a[0] - b[0])) brokerAddrs[String(id)] = addr;
  const data: BrokerData = {
    cluster: group.cluster,
    brokerName: group.brokerName,
    brokerAddrs,
    enableActingMaster: group.enableActingMaster,
  };
  if (group.zoneName !== undefined) data.zoneName = group.zoneName;
  return data;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
