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

export class MQAdmin {
  readonly client: RemotingClient;
  private readonly namesrvs: string[];

  constructor(namesrvAddr: string, client?: RemotingClient) {
    this.namesrvs = namesrvAddr.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
    this.client = client ?? new RemotingClient();
  }

  close(): void {
    this.client.close();
  }

  /** Sends to addr; resolves to the response when its code is one of okCodes. */
  async call(addr: string, code: number, header?: HeaderValues, body?: Buffer, okCodes: number[] = [ResponseCode.SUCCESS],
    timeoutMs = 5000): Promise<RemotingCommand> {
    const res = await this.client.invoke(addr, createRequest(code, header, body), timeoutMs);
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
  async createTopic(topic: string, queues: number, options: { clusterName?: string; perm?: number; order?: boolean } = {}): Promise<void> {
    const masters = await this.masterAddrs(options.clusterName);
    if (masters.length === 0) throw new Error('no master broker found in the cluster');
    await Promise.all(masters.map((m) => this.call(m.addr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: 'TBW102', readQueueNums: queues, writeQueueNums: queues, perm: options.perm ?? 6,
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
}

export function parseBody(res: RemotingCommand): unknown {
  if (!res.body || res.body.length === 0) return {};
  return parseFastjson(res.body.toString('utf8'));
}
