/**
 * Protocol helpers the operator pages share: routes that may not exist (retry, DLQ and system
 * topics), QUERY_MESSAGE across every master of a topic, VIEW_MESSAGE_BY_ID restricted to the
 * cluster's own nodes, paged pulls for long jobs, a round-robin sender with SEND_MESSAGE_V2, and the
 * pacing of jobs (a rate limit and a bound on sends in flight). All of it is what a RocketMQ admin
 * client can do against any cluster.
 */
import { AdminError, type MQAdmin, type RouteInfo } from '../../remoting/admin/mq-admin.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { RequestCode } from '../../remoting/request-code.js';
import { decodeMessageId, decodeMessages, encodeProperties, type MessageExt } from '../../broker/store/message-codec.js';
import { ConsoleError } from '../contract/errors.js';
import { MAX_TIMESTAMP } from '../contract/schemas.js';
import { TOOLS_CONSUMER_GROUP, brokerGroups, errorText } from '../cluster-view.js';

export interface TopicBroker {
  brokerName: string;
  addr: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
}

/** The route of a topic, or null when the NameServer does not know it. */
export async function routeOrNull(admin: MQAdmin, topic: string): Promise<RouteInfo | null> {
  try {
    return await admin.routeInfo(topic);
  } catch (error) {
    if (error instanceof AdminError && error.code === ResponseCode.TOPIC_NOT_EXIST) return null;
    throw error;
  }
}

/** Brokers of a route whose master is up, with their queue counts. */
export function routeMasters(route: RouteInfo | null): TopicBroker[] {
  if (!route) return [];
  const addrOf = new Map(route.brokerDatas.map((b) => [b.brokerName, b.brokerAddrs['0'] ?? null]));
  const out: TopicBroker[] = [];
  for (const q of route.queueDatas) {
    const addr = addrOf.get(q.brokerName);
    if (addr) out.push({ brokerName: q.brokerName, addr, readQueueNums: q.readQueueNums, writeQueueNums: q.writeQueueNums, perm: q.perm });
  }
  return out.sort((a, b) => a.brokerName.localeCompare(b.brokerName));
}

export interface Located {
  m: MessageExt;
  brokerName: string;
  addr: string;
}

/** QUERY_MESSAGE on every master of the topic; keeps only messages really carrying the key. */
export async function queryAcross(admin: MQAdmin, topic: string, key: string, unique: boolean, errors: string[], maxNum = 32,
  route?: RouteInfo | null): Promise<Located[]> {
  const r = route === undefined ? await routeOrNull(admin, topic) : route;
  const out: Located[] = [];
  await Promise.all(routeMasters(r).map(async (b) => {
    try {
      const body = await admin.queryMessage(b.addr, { topic, key, maxNum, beginTimestamp: 0, endTimestamp: MAX_TIMESTAMP, uniqueKey: unique });
      for (const m of decodeMessages(body)) {
        if (m.topic !== topic) continue;
        const hit = unique ? m.properties['UNIQ_KEY'] === key : (m.properties['KEYS'] ?? '').split(' ').includes(key);
        if (hit) out.push({ m, brokerName: b.brokerName, addr: b.addr });
      }
    } catch (error) {
      errors.push(`${b.brokerName} ${topic}: ${errorText(error)}`);
    }
  }));
  return dedupeLocated(out);
}

export function dedupeLocated(list: Located[]): Located[] {
  const seen = new Set<string>();
  return list.filter((x) => (seen.has(x.m.msgId) ? false : (seen.add(x.m.msgId), true)));
}

/** Broker name of every node address the NameServer lists (master and slaves). */
export async function nodeAddresses(admin: MQAdmin): Promise<Map<string, string>> {
  const info = await admin.clusterInfo();
  const out = new Map<string, string>();
  for (const b of Object.values(info.brokerAddrTable ?? {})) for (const a of Object.values(b.brokerAddrs ?? {})) out.set(a, b.brokerName);
  return out;
}

/**
 * VIEW_MESSAGE_BY_ID for an offset id. The id names an address; only the cluster's own nodes are
 * contacted (an id pointing elsewhere is NOT_FOUND), so a page cannot make the host dial anywhere.
 */
export async function viewByOffsetId(admin: MQAdmin, msgId: string, nodes?: Map<string, string>): Promise<Located> {
  let decoded: { address: string; offset: number };
  try {
    decoded = decodeMessageId(msgId);
  } catch {
    throw new ConsoleError('BAD_REQUEST', `"${msgId}" is not an offset message id`);
  }
  const known = nodes ?? await nodeAddresses(admin);
  const brokerName = known.get(decoded.address);
  if (!brokerName) throw new ConsoleError('NOT_FOUND', `Message ${msgId} names ${decoded.address}, which is not a node of this cluster`);
  let body: Buffer;
  try {
    body = await admin.viewMessage(decoded.address, decoded.offset);
  } catch (error) {
    if (error instanceof AdminError) throw new ConsoleError('NOT_FOUND', `No message at ${msgId}: ${error.remark || 'not found'}`);
    throw error;
  }
  const m = decodeMessages(body)[0];
  if (!m) throw new ConsoleError('NOT_FOUND', `No message at ${msgId}`);
  return { m, brokerName, addr: decoded.address };
}

/** Master address of a broker group, from the cluster info. */
export async function masterOf(admin: MQAdmin, brokerName: string): Promise<string> {
  const g = (await brokerGroups(admin)).find((x) => x.brokerName === brokerName);
  if (!g?.master) throw new ConsoleError('UNREACHABLE', `Broker group "${brokerName}" has no master up`);
  return g.master;
}

/**
 * Pages of one queue from `from` up to `to` (exclusive; null = its end when the page is asked),
 * pulled with TOOLS_CONSUMER (no offset commit). Holes (removed entries) are skipped.
 */
export async function* pullPages(admin: MQAdmin, addr: string, topic: string, queueId: number, from: number, to: number | null,
  batch = 32): AsyncGenerator<MessageExt[], number> {
  let offset = from;
  for (;;) {
    if (to !== null && offset >= to) return offset;
    const want = to === null ? batch : Math.max(1, Math.min(batch, to - offset));
    const r = await admin.pull(addr, { group: TOOLS_CONSUMER_GROUP, topic, queueId, offset, maxNums: want });
    if (r.status === 'FOUND') {
      const messages = decodeMessages(r.body).filter((m) => to === null || m.queueOffset < to);
      if (messages.length > 0) yield messages;
      const next = Math.max(r.nextBeginOffset ?? offset, messages.length > 0 ? messages[messages.length - 1]!.queueOffset + 1 : offset);
      if (next <= offset) return offset;
      offset = next;
    } else if (r.status === 'NO_MATCHED_MSG' && r.nextBeginOffset !== null && r.nextBeginOffset > offset) {
      offset = r.nextBeginOffset;
    } else if (r.status === 'OFFSET_ILLEGAL' && r.minOffset !== null && offset < r.minOffset) {
      offset = r.minOffset;
    } else {
      return offset;
    }
  }
}

/** The one message at a queue offset, or null. */
export async function messageAt(admin: MQAdmin, addr: string, topic: string, queueId: number, queueOffset: number): Promise<MessageExt | null> {
  const r = await admin.pull(addr, { group: TOOLS_CONSUMER_GROUP, topic, queueId, offset: queueOffset, maxNums: 1 });
  if (r.status !== 'FOUND') return null;
  return decodeMessages(r.body).find((m) => m.queueOffset === queueOffset) ?? null;
}

/**
 * QUERY_CONSUMER_OFFSET; null when the broker has none (QUERY_NOT_FOUND). setZeroIfNotFound=false
 * (5.x) keeps "never committed" apart from 0; a 4.x broker ignores it and may answer 0.
 */
export async function queryConsumerOffset(admin: MQAdmin, addr: string, group: string, topic: string, queueId: number): Promise<number | null> {
  const res = await admin.call(addr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId, setZeroIfNotFound: false }, undefined,
    [ResponseCode.SUCCESS, ResponseCode.QUERY_NOT_FOUND]);
  if (res.code !== ResponseCode.SUCCESS) return null;
  const v = Number(res.extFields?.['offset']);
  return Number.isFinite(v) && v >= 0 ? v : null;
}

/** UPDATE_CONSUMER_OFFSET on a master. */
export async function updateConsumerOffset(admin: MQAdmin, addr: string, group: string, topic: string, queueId: number, commitOffset: number): Promise<void> {
  await admin.call(addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId, commitOffset });
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface SentCopy {
  msgId: string | null;
  brokerName: string;
  queueId: number;
  queueOffset: number | null;
}

/**
 * SEND_MESSAGE_V2 round robin over the writable queues of a topic's masters (route cached; a topic
 * the NameServer does not know yet goes to queue 0 of the first master, which auto-creates it when
 * the broker allows). A message may instead name its queue (`queue`).
 */
export class TopicSender {
  private readonly routes = new Map<string, { at: number; queues: Array<{ brokerName: string; addr: string; queueId: number }> }>();
  private counter = 0;

  constructor(private readonly admin: MQAdmin, readonly producerGroup: string) {}

  async queuesOf(topic: string): Promise<Array<{ brokerName: string; addr: string; queueId: number }>> {
    const cached = this.routes.get(topic);
    if (cached && Date.now() - cached.at < 30_000) return cached.queues;
    const route = await routeOrNull(this.admin, topic);
    let queues: Array<{ brokerName: string; addr: string; queueId: number }> = [];
    for (const b of routeMasters(route)) {
      if ((b.perm & 2) === 0) continue;
      for (let q = 0; q < b.writeQueueNums; q++) queues.push({ brokerName: b.brokerName, addr: b.addr, queueId: q });
    }
    if (queues.length === 0) {
      const first = (await brokerGroups(this.admin)).find((g) => g.master);
      if (!first?.master) throw new ConsoleError('UNREACHABLE', 'No master broker is up');
      queues = [{ brokerName: first.brokerName, addr: first.master, queueId: 0 }];
    }
    this.routes.set(topic, { at: Date.now(), queues });
    return queues;
  }

  forget(topic: string): void {
    this.routes.delete(topic);
  }

  async send(m: { topic: string; properties: Record<string, string>; body: Buffer; flag?: number; sysFlag?: number;
    producerGroup?: string; queue?: { brokerName: string; addr: string; queueId: number } }): Promise<SentCopy> {
    let target = m.queue;
    if (!target) {
      const queues = await this.queuesOf(m.topic);
      target = queues[this.counter++ % queues.length]!;
    }
    const res = await this.admin.sendMessage(target.addr, {
      producerGroup: m.producerGroup ?? this.producerGroup, topic: m.topic, queueId: target.queueId,
      properties: encodeProperties(m.properties), body: m.body, flag: m.flag ?? 0, sysFlag: m.sysFlag ?? 0,
    });
    return { msgId: res.msgId, brokerName: target.brokerName, queueId: res.queueId ?? target.queueId, queueOffset: res.queueOffset };
  }
}

/** Paces a job to `ratePerSecond`, allowing bursts of a tenth of a second. */
export class RateLimiter {
  private allowance: number;
  private last = Date.now();

  constructor(private readonly ratePerSecond: number) {
    this.allowance = Math.max(1, ratePerSecond / 10);
  }

  async take(signal?: { aborted: boolean }): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.allowance = Math.min(Math.max(1, this.ratePerSecond / 10), this.allowance + ((now - this.last) * this.ratePerSecond) / 1000);
      this.last = now;
      if (this.allowance >= 1) {
        this.allowance -= 1;
        return;
      }
      if (signal?.aborted) return;
      const waitMs = Math.max(1, Math.ceil(((1 - this.allowance) * 1000) / this.ratePerSecond));
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** At most `limit` tasks in flight; `run` waits for a free slot; `drain` waits for all. */
export class InFlight {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly idle: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    void task().finally(() => {
      this.active--;
      this.waiters.shift()?.();
      if (this.active === 0) for (const r of this.idle.splice(0)) r();
    });
  }

  async drain(): Promise<void> {
    if (this.active === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }
}
