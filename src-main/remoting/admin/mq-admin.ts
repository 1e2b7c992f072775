/**
 * Admin calls over the RocketMQ protocol, for any cluster (embedded or real): routes, cluster info,
 * topic create/delete on every master, topic and consume stats. What mqadmin does, as a library.
 * Bodies from real clusters are fastjson (bare numeric keys, MessageQueue object keys), so they are
 * read with the tolerant parser.
 */
import { RemotingClient } from '../remoting-client.js';
import { createRequest, type RemotingCommand, type HeaderValues } from '../remoting-command.js';
import { RequestCode } from '../request-code.js';
import { ResponseCode } from '../response-code.js';
import { parseFastjson } from '../fastjson.js';
import { signRequest, type AclCredentials } from '../acl-signer.js';

export class AdminError extends Error {
  constructor(readonly code: number, readonly remark: string, readonly requestCode: number) {
    super(`request ${requestCode} failed with code ${code}: ${remark}`);
    this.name = 'AdminError';
  }
}

export interface RouteInfo {
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }>;
  brokerDatas: Array<{ cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
}

export interface ClusterInfoView {
  brokerAddrTable: Record<string, { cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
  clusterAddrTable: Record<string, string[]>;
}

export interface QueueOffsets {
  topic: string;
  brokerName: string;
  queueId: number;
  brokerOffset: number;
  consumerOffset: number;
  lastTimestamp: number;
}

export interface MQAdminOptions {
  /** Signs every request (clusters with ACL on). */
  credentials?: AclCredentials;
}

export class MQAdmin {
  readonly client: RemotingClient;
  private readonly namesrvs: string[];
  private readonly credentials: AclCredentials | undefined;

  constructor(namesrvAddr: string, client?: RemotingClient, options: MQAdminOptions = {}) {
    this.namesrvs = namesrvAddr.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
    this.client = client ?? new RemotingClient();
    this.credentials = options.credentials;
  }

  /** The NameServer addresses this admin was given. */
  get namesrvAddrs(): readonly string[] {
    return this.namesrvs;
  }

  close(): void {
    this.client.close();
  }

  /** Sends to addr; resolves to the response when its code is one of okCodes. */
  async call(addr: string, code: number, header?: HeaderValues, body?: Buffer, okCodes: number[] = [ResponseCode.SUCCESS],
    timeoutMs = 5000): Promise<RemotingCommand> {
    const request = createRequest(code, header, body);
    if (this.credentials) signRequest(request, this.credentials);
    const res = await this.client.invoke(addr, request, timeoutMs);
    if (!okCodes.includes(res.code)) throw new AdminError(res.code, res.remark ?? '', code);
    return res;
  }

  /** Tries each NameServer in turn (a client given the list keeps working when one is down). */
  async callNamesrv(code: number, header?: HeaderValues, body?: Buffer): Promise<RemotingCommand> {
    let lastError: unknown;
    for (const ns of this.namesrvs) {
      try {
        return await this.call(ns, code, header, body);
      } catch (err) {
        if (err instanceof AdminError) throw err;
        lastError = err;
      }
    }
    throw lastError ?? new Error('no NameServer address');
  }

  async routeInfo(topic: string): Promise<RouteInfo> {
    const res = await this.callNamesrv(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    return parseBody(res) as RouteInfo;
  }

  async clusterInfo(): Promise<ClusterInfoView> {
    return parseBody(await this.callNamesrv(RequestCode.GET_BROKER_CLUSTER_INFO)) as ClusterInfoView;
  }

  async topicList(): Promise<string[]> {
    const body = parseBody(await this.callNamesrv(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER)) as { topicList: string[] };
    return body.topicList;
  }

  /** Master address of every broker group in a cluster (or all clusters). */
  async masterAddrs(clusterName?: string): Promise<Array<{ brokerName: string; addr: string }>> {
    const info = await this.clusterInfo();
    const names = clusterName ? info.clusterAddrTable[clusterName] ?? [] : Object.keys(info.brokerAddrTable);
    const out: Array<{ brokerName: string; addr: string }> = [];
    for (const n of names) {
      const addr = info.brokerAddrTable[n]?.brokerAddrs['0'];
      if (addr) out.push({ brokerName: n, addr });
    }
    return out;
  }

  /** UPDATE_AND_CREATE_TOPIC on every master of the cluster, as mqadmin updateTopic -c does. */
  async createTopic(topic: string, queues: number, options: {
    clusterName?: string; perm?: number; order?: boolean; readQueueNums?: number; writeQueueNums?: number;
  } = {}): Promise<void> {
    const masters = await this.masterAddrs(options.clusterName);
    if (masters.length === 0) throw new Error('no master broker found in the cluster');
    await Promise.all(masters.map((m) => this.call(m.addr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: options.readQueueNums ?? queues,
      writeQueueNums: options.writeQueueNums ?? queues, perm: options.perm ?? 6,
      topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: options.order ?? false,
    })));
  }

  async deleteTopic(topic: string, clusterName?: string): Promise<void> {
    const masters = await this.masterAddrs(clusterName);
    await Promise.all(masters.map((m) => this.call(m.addr, RequestCode.DELETE_TOPIC_IN_BROKER, { topic })));
    for (const ns of this.namesrvs) await this.call(ns, RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic, clusterName });
  }

  /** Per-queue broker and consumer offsets of a group, across the masters serving the topic. */
  async consumeStats(group: string, topic: string): Promise<QueueOffsets[]> {
    const route = await this.routeInfo(topic);
    const out: QueueOffsets[] = [];
    for (const b of route.brokerDatas) {
      const addr = b.brokerAddrs['0'];
      if (!addr) continue;
      const res = await this.call(addr, RequestCode.GET_CONSUME_STATS, { consumerGroup: group, topic });
      const body = parseBody(res) as { offsetTable: Record<string, { brokerOffset: number; consumerOffset: number; lastTimestamp: number }> };
      for (const [key, v] of Object.entries(body.offsetTable)) {
        const [t, brokerName, q] = key.split('|');
        out.push({ topic: t!, brokerName: brokerName!, queueId: Number(q), brokerOffset: v.brokerOffset, consumerOffset: v.consumerOffset, lastTimestamp: v.lastTimestamp });
      }
    }
    return out.sort((a, b) => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  }

  async topicStats(topic: string): Promise<Array<{ brokerName: string; queueId: number; minOffset: number; maxOffset: number; lastUpdateTimestamp: number }>> {
    const route = await this.routeInfo(topic);
    const out: Array<{ brokerName: string; queueId: number; minOffset: number; maxOffset: number; lastUpdateTimestamp: number }> = [];
    for (const b of route.brokerDatas) {
      const addr = b.brokerAddrs['0'];
      if (!addr) continue;
      const body = parseBody(await this.call(addr, RequestCode.GET_TOPIC_STATS_INFO, { topic })) as {
        offsetTable: Record<string, { minOffset: number; maxOffset: number; lastUpdateTimestamp: number }>;
      };
      for (const [key, v] of Object.entries(body.offsetTable)) {
        const [, brokerName, q] = key.split('|');
        out.push({ brokerName: brokerName!, queueId: Number(q), ...v });
      }
    }
    return out.sort((a, b) => a.brokerName.localeCompare(b.brokerName) || a.queueId - b.queueId);
  }

  // ---------------------------------------------------------------------------------------------
  // Per-broker calls used by the console (one address each; the caller picks masters or slaves).

  /** GET_BROKER_RUNTIME_INFO: the broker's `table` of string stats (RocketMQ KVTable). */
  async brokerRuntimeInfo(addr: string, timeoutMs = 3000): Promise<Record<string, string>> {
    const res = await this.call(addr, RequestCode.GET_BROKER_RUNTIME_INFO, undefined, undefined, undefined, timeoutMs);
    return ((parseBody(res) as { table?: Record<string, string> }).table) ?? {};
  }

  /** GET_ALL_TOPIC_CONFIG: the broker's topicConfigTable. */
  async allTopicConfig(addr: string): Promise<Record<string, BrokerTopicConfig>> {
    const body = parseBody(await this.call(addr, RequestCode.GET_ALL_TOPIC_CONFIG)) as { topicConfigTable?: Record<string, BrokerTopicConfig> };
    return body.topicConfigTable ?? {};
  }

  /** GET_ALL_SUBSCRIPTIONGROUP_CONFIG: the broker's subscriptionGroupTable. */
  async allSubscriptionGroups(addr: string): Promise<Record<string, Record<string, unknown>>> {
    const body = parseBody(await this.call(addr, RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG)) as {
      subscriptionGroupTable?: Record<string, Record<string, unknown>>;
    };
    return body.subscriptionGroupTable ?? {};
  }

  /** GET_CONSUME_STATS on one broker; without a topic, every topic the group has offsets on. */
  async brokerConsumeStats(addr: string, group: string, topic?: string): Promise<{ queues: QueueOffsets[]; consumeTps: number | null }> {
    const res = await this.call(addr, RequestCode.GET_CONSUME_STATS, { consumerGroup: group, topic });
    const body = parseBody(res) as {
      offsetTable?: Record<string, { brokerOffset: number; consumerOffset: number; lastTimestamp: number }>;
      consumeTps?: number;
    };
    const queues: QueueOffsets[] = [];
    for (const [key, v] of Object.entries(body.offsetTable ?? {})) {
      const [t, brokerName, q] = key.split('|');
      queues.push({ topic: t!, brokerName: brokerName!, queueId: Number(q), brokerOffset: v.brokerOffset, consumerOffset: v.consumerOffset, lastTimestamp: v.lastTimestamp });
    }
    return { queues, consumeTps: typeof body.consumeTps === 'number' ? body.consumeTps : null };
  }

  /** GET_CONSUMER_CONNECTION_LIST; null when the group has no online client on that broker. */
  async consumerConnection(addr: string, group: string): Promise<ConsumerConnection | null> {
    const res = await this.call(addr, RequestCode.GET_CONSUMER_CONNECTION_LIST, { consumerGroup: group }, undefined,
      [ResponseCode.SUCCESS, ResponseCode.CONSUMER_NOT_ONLINE]);
    if (res.code === ResponseCode.CONSUMER_NOT_ONLINE) return null;
    return parseBody(res) as ConsumerConnection;
  }

  /** QUERY_TOPIC_CONSUME_BY_WHO on one broker. */
  async topicConsumedBy(addr: string, topic: string): Promise<string[]> {
    const body = parseBody(await this.call(addr, RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, { topic })) as { groupList?: string[] };
    return body.groupList ?? [];
  }

  async maxOffset(addr: string, topic: string, queueId: number): Promise<number> {
    const res = await this.call(addr, RequestCode.GET_MAX_OFFSET, { topic, queueId });
    return Number(res.extFields?.['offset'] ?? 0);
  }

  async minOffset(addr: string, topic: string, queueId: number): Promise<number> {
    const res = await this.call(addr, RequestCode.GET_MIN_OFFSET, { topic, queueId });
    return Number(res.extFields?.['offset'] ?? 0);
  }

  /** SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp`. */
  async searchOffset(addr: string, topic: string, queueId: number, timestamp: number): Promise<number> {
    const res = await this.call(addr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId, timestamp });
    return Number(res.extFields?.['offset'] ?? 0);
  }

  /**
   * PULL_MESSAGE without suspend and without committing an offset, as mqadmin and the dashboard
   * browse (group TOOLS_CONSUMER). Not-found answers are returned, not thrown.
   */
  async pull(addr: string, p: { group: string; topic: string; queueId: number; offset: number; maxNums: number; subscription?: string }):
    Promise<PullResult> {
    const res = await this.call(addr, RequestCode.PULL_MESSAGE, {
      consumerGroup: p.group, topic: p.topic, queueId: p.queueId, queueOffset: p.offset, maxMsgNums: p.maxNums,
      sysFlag: PULL_SYS_FLAG_SUBSCRIPTION, commitOffset: 0, suspendTimeoutMillis: 0,
      subscription: p.subscription ?? '*', subVersion: 0, expressionType: 'TAG',
    }, undefined, [ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND, ResponseCode.PULL_RETRY_IMMEDIATELY, ResponseCode.PULL_OFFSET_MOVED]);
    const num = (k: string): number | null => {
      const v = res.extFields?.[k];
      return v === undefined ? null : Number(v);
    };
    const status = res.code === ResponseCode.SUCCESS ? 'FOUND'
      : res.code === ResponseCode.PULL_NOT_FOUND ? 'NO_NEW_MSG'
        : res.code === ResponseCode.PULL_RETRY_IMMEDIATELY ? 'NO_MATCHED_MSG' : 'OFFSET_ILLEGAL';
    return {
      status, nextBeginOffset: num('nextBeginOffset'), minOffset: num('minOffset'), maxOffset: num('maxOffset'),
      body: res.code === ResponseCode.SUCCESS ? res.body ?? Buffer.alloc(0) : Buffer.alloc(0),
    };
  }

  /** VIEW_MESSAGE_BY_ID: the stored record at a commitlog offset. */
  async viewMessage(addr: string, commitLogOffset: number): Promise<Buffer> {
    const res = await this.call(addr, RequestCode.VIEW_MESSAGE_BY_ID, { offset: commitLogOffset });
    return res.body ?? Buffer.alloc(0);
  }

  /** QUERY_MESSAGE by key (or unique key); an empty buffer when nothing matched. */
  async queryMessage(addr: string, q: { topic: string; key: string; maxNum: number; beginTimestamp: number; endTimestamp: number; uniqueKey?: boolean }):
    Promise<Buffer> {
    const res = await this.call(addr, RequestCode.QUERY_MESSAGE, {
      topic: q.topic, key: q.key, maxNum: q.maxNum, beginTimestamp: q.beginTimestamp, endTimestamp: q.endTimestamp,
      _UNIQUE_KEY_QUERY: q.uniqueKey ? 'true' : undefined,
    }, undefined, [ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND]);
    return res.code === ResponseCode.SUCCESS ? res.body ?? Buffer.alloc(0) : Buffer.alloc(0);
  }

  /** INVOKE_BROKER_TO_RESET_OFFSET on one master: returns the new offset of each queue it moved. */
  async resetOffset(addr: string, r: { topic: string; group: string; timestamp: number; isForce: boolean }):
    Promise<Array<{ topic: string; brokerName: string; queueId: number; offset: number }>> {
    const res = await this.call(addr, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
      topic: r.topic, group: r.group, timestamp: r.timestamp, isForce: r.isForce,
    });
    const body = parseBody(res) as { offsetTable?: Record<string, number> };
    return Object.entries(body.offsetTable ?? {}).map(([key, offset]) => {
      const [topic, brokerName, q] = key.split('|');
      return { topic: topic!, brokerName: brokerName!, queueId: Number(q), offset: Number(offset) };
    });
  }

  /** UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on one broker (body: SubscriptionGroupConfig JSON). */
  async upsertGroup(addr: string, config: Record<string, unknown> & { groupName: string }): Promise<void> {
    await this.call(addr, RequestCode.UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, undefined, Buffer.from(JSON.stringify(config), 'utf8'));
  }

  /** DELETE_SUBSCRIPTIONGROUP on one broker, with its offsets (cleanOffset). */
  async deleteGroup(addr: string, group: string): Promise<void> {
    await this.call(addr, RequestCode.DELETE_SUBSCRIPTIONGROUP, { groupName: group, cleanOffset: true });
  }

  /** SEND_MESSAGE_V2 (short header names a…n) to one broker queue. */
  async sendMessage(addr: string, m: {
    producerGroup: string; topic: string; queueId: number; properties: string; body: Buffer; flag?: number; sysFlag?: number;
  }): Promise<{ msgId: string | null; queueId: number | null; queueOffset: number | null; code: number }> {
    const res = await this.call(addr, RequestCode.SEND_MESSAGE_V2, {
      a: m.producerGroup, b: m.topic, c: 'TBW102', d: 4, e: m.queueId, f: m.sysFlag ?? 0, g: Date.now(), h: m.flag ?? 0,
      i: m.properties, j: 0, k: false, m: false,
    }, m.body, [ResponseCode.SUCCESS, ResponseCode.FLUSH_DISK_TIMEOUT, ResponseCode.FLUSH_SLAVE_TIMEOUT, ResponseCode.SLAVE_NOT_AVAILABLE]);
    const ext = res.extFields ?? {};
    return {
      msgId: ext['msgId'] ?? null,
      queueId: ext['queueId'] !== undefined ? Number(ext['queueId']) : null,
      queueOffset: ext['queueOffset'] !== undefined ? Number(ext['queueOffset']) : null,
      code: res.code,
    };
  }
}

/** PullSysFlag.FLAG_SUBSCRIPTION: the request carries its own subscription expression. */
const PULL_SYS_FLAG_SUBSCRIPTION = 0x4;

export interface BrokerTopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  order?: boolean;
  topicSysFlag?: number;
}

export interface ConsumerConnection {
  connectionSet?: Array<{ clientId?: string; clientAddr?: string; language?: string; version?: number }>;
  subscriptionTable?: Record<string, { topic?: string; subString?: string; expressionType?: string; tagsSet?: string[] }>;
  consumeType?: string;
  messageModel?: string;
  consumeFromWhere?: string;
}

export interface PullResult {
  status: 'FOUND' | 'NO_NEW_MSG' | 'NO_MATCHED_MSG' | 'OFFSET_ILLEGAL';
  nextBeginOffset: number | null;
  minOffset: number | null;
  maxOffset: number | null;
  body: Buffer;
}

export function parseBody(res: RemotingCommand): unknown {
  if (!res.body || res.body.length === 0) return {};
  return parseFastjson(res.body.toString('utf8'));
}
