/**
 * Helpers shared by the handlers: which brokers serve a topic, master addresses, topic and group
 * classification, and stored-message → row conversion. Everything is read over the protocol.
 */
import type { MQAdmin, RouteInfo } from '../remoting/admin/mq-admin.js';
import { AdminError } from '../remoting/admin/mq-admin.js';
import { ResponseCode } from '../remoting/response-code.js';
import { decodeMessages, uncompressedBody, MessageSysFlag, type MessageExt } from '../broker/store/message-codec.js';
import { ConsoleError } from './contract/errors.js';
import type { MessageDetail, MessageRow, TopicKind } from './contract/dto.js';

/** RocketMQ MixAll.TOOLS_CONSUMER_GROUP: the group admin tools pull with (never commits offsets). */
export const TOOLS_CONSUMER_GROUP = 'TOOLS_CONSUMER';
/** Producer group of the Playground's sends. */
export const PLAYGROUND_PRODUCER_GROUP = 'MQDESK_PLAYGROUND_PRODUCER';
export const MAX_DETAIL_BODY_BYTES = 4 * 1024 * 1024;
const PREVIEW_CHARS = 160;

export interface BrokerAddr {
  cluster: string;
  brokerName: string;
  /** Master address, null when the group has no master up. */
  master: string | null;
  /** Any node address, master first (reads can fall back to a slave). */
  any: string | null;
}

/** Every broker group from GET_BROKER_CLUSTER_INFO. */
export async function brokerGroups(admin: MQAdmin): Promise<BrokerAddr[]> {
  const info = await admin.clusterInfo();
  const clusterOf = new Map<string, string>();
  for (const [cluster, names] of Object.entries(info.clusterAddrTable ?? {})) for (const n of names) clusterOf.set(n, cluster);
  return Object.values(info.brokerAddrTable ?? {})
    .map((b) => {
      const addrs = b.brokerAddrs ?? {};
      const ids = Object.keys(addrs).map(Number).sort((a, c) => a - c);
      const master = addrs['0'] ?? null;
      return {
        cluster: b.cluster ?? clusterOf.get(b.brokerName) ?? '',
        brokerName: b.brokerName,
        master,
        any: master ?? (ids.length > 0 ? addrs[String(ids[0])] ?? null : null),
      };
    })
    .sort((a, b) => a.brokerName.localeCompare(b.brokerName));
}

export async function mastersOrFail(admin: MQAdmin, clusterName?: string): Promise<BrokerAddr[]> {
  const groups = (await brokerGroups(admin)).filter((g) => g.master && (!clusterName || g.cluster === clusterName));
  if (groups.length === 0) {
    throw new ConsoleError('NOT_FOUND', clusterName ? `No master broker in cluster "${clusterName}"` : 'No master broker is registered with the NameServer');
  }
  return groups;
}

/** The route of a topic; a missing topic is NOT_FOUND. */
export async function topicRoute(admin: MQAdmin, topic: string): Promise<RouteInfo> {
  try {
    return await admin.routeInfo(topic);
  } catch (error) {
    if (error instanceof AdminError && error.code === ResponseCode.TOPIC_NOT_EXIST) {
      throw new ConsoleError('NOT_FOUND', `Topic "${topic}" does not exist`);
    }
    throw error;
  }
}

/** Broker groups serving a topic, with their read/write queue counts and master address. */
export function routeBrokers(route: RouteInfo): Array<{ brokerName: string; addr: string | null; readQueueNums: number; writeQueueNums: number; perm: number }> {
  const addrOf = new Map(route.brokerDatas.map((b) => [b.brokerName, b.brokerAddrs['0'] ?? null]));
  return route.queueDatas
    .map((q) => ({ brokerName: q.brokerName, addr: addrOf.get(q.brokerName) ?? null, readQueueNums: q.readQueueNums, writeQueueNums: q.writeQueueNums, perm: q.perm }))
    .sort((a, b) => a.brokerName.localeCompare(b.brokerName));
}

const SYSTEM_TOPICS = new Set([
  'TBW102', 'SCHEDULE_TOPIC_XXXX', 'RMQ_SYS_TRANS_HALF_TOPIC', 'RMQ_SYS_TRANS_OP_HALF_TOPIC', 'TRANS_CHECK_MAX_TIME_TOPIC',
  'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT', 'RMQ_SYS_TRACE_TOPIC', 'BenchmarkTest', 'DefaultHeartBeatSyncerTopic',
]);

/** Topic kind; cluster and broker names are system topics too (the NameServer lists them). */
export function topicKind(topic: string, systemNames: ReadonlySet<string> = new Set()): TopicKind {
  if (topic.startsWith('%RETRY%')) return 'RETRY';
  if (topic.startsWith('%DLQ%')) return 'DLQ';
  if (SYSTEM_TOPICS.has(topic) || topic.startsWith('rmq_sys_') || topic.startsWith('RMQ_SYS_') || systemNames.has(topic)
    || topic.endsWith('_REPLY_TOPIC')) return 'SYSTEM';
  return 'NORMAL';
}

const SYSTEM_GROUPS = new Set([
  TOOLS_CONSUMER_GROUP, 'FILTERSRV_CONSUMER', '__MONITOR_CONSUMER', 'CLIENT_INNER_PRODUCER', 'SELF_TEST_P_GROUP',
  'SELF_TEST_C_GROUP', 'CID_ONS-HTTP-PROXY', 'CID_ONSAPI_PERMISSION', 'CID_ONSAPI_OWNER', 'CID_ONSAPI_PULL',
  'CID_RMQ_SYS_TRANS', PLAYGROUND_PRODUCER_GROUP,
]);

/** RocketMQ MixAll.isSysConsumerGroup plus the groups admin tools use. */
export function isSystemGroup(group: string): boolean {
  return SYSTEM_GROUPS.has(group) || group.startsWith('CID_RMQ_SYS_') || group.startsWith('MQDESK_');
}

export function toRow(m: MessageExt, brokerName: string | null): MessageRow {
  let previewBody: Buffer;
  try {
    previewBody = uncompressedBody(m);
  } catch {
    previewBody = m.body;
  }
  return {
    msgId: m.msgId,
    uniqKey: m.properties['UNIQ_KEY'] ?? null,
    topic: m.topic,
    brokerName,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    commitLogOffset: m.commitLogOffset,
    tags: m.properties['TAGS'] ?? null,
    keys: m.properties['KEYS'] ?? null,
    bornTimestamp: m.bornTimestamp,
    storeTimestamp: m.storeTimestamp,
    bornHost: m.bornHost,
    storeHost: m.storeHost,
    bodySize: m.body.length,
    reconsumeTimes: m.reconsumeTimes,
    preview: previewBody.subarray(0, PREVIEW_CHARS * 4).toString('utf8').slice(0, PREVIEW_CHARS),
  };
}

export function toDetail(m: MessageExt, brokerName: string | null): MessageDetail {
  const compressed = (m.sysFlag & MessageSysFlag.COMPRESSED) !== 0;
  let body: Buffer;
  try {
    body = uncompressedBody(m);
  } catch {
    body = m.body;
  }
  const truncated = body.length > MAX_DETAIL_BODY_BYTES;
  return {
    ...toRow(m, brokerName),
    properties: { ...m.properties },
    body: (truncated ? body.subarray(0, MAX_DETAIL_BODY_BYTES) : body).toString('base64'),
    bodyTruncated: truncated,
    compressed,
    sysFlag: m.sysFlag,
    flag: m.flag,
    bodyCRC: m.bodyCRC,
  };
}

export { decodeMessages };

/** A scan's limits: rows and wall-clock time, and the page's cancel (op:cancel) when it gave an opId. */
export class Budget {
  private readonly deadline: number;
  rows = 0;
  stoppedBy: 'rows' | 'time' | null = null;
  /** The page cancelled the operation (the signal fired); `ok()` is false from then on. */
  cancelled = false;

  constructor(readonly maxRows: number, maxMs: number, private readonly signal?: AbortSignal) {
    this.deadline = Date.now() + maxMs;
  }

  /** False (and remembers why) once a limit is reached or the operation was cancelled. */
  ok(): boolean {
    if (this.signal?.aborted) this.cancelled = true;
    if (this.cancelled || this.stoppedBy) return false;
    if (this.rows >= this.maxRows) this.stoppedBy = 'rows';
    else if (Date.now() >= this.deadline) this.stoppedBy = 'time';
    return this.stoppedBy === null;
  }

  /** Why the scan stopped, cancellation first. */
  get reason(): 'rows' | 'time' | 'cancelled' | null {
    return this.cancelled ? 'cancelled' : this.stoppedBy;
  }

  remainingRows(): number {
    return Math.max(0, this.maxRows - this.rows);
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export function errorText(error: unknown): string {
  if (error instanceof AdminError) return `code ${error.code}: ${error.remark}`;
  return error instanceof Error ? error.message : String(error);
}

/** The number or null: the cluster did not give it (absent, empty, not a number, or negative). */
export function numberOrNull(value: unknown): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

export function timeOrNull(value: unknown): number | null {
  const n = numberOrNull(value);
  return n === null || n === 0 ? null : n;
}
