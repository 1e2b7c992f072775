/**
 * message:browse / message:by-id / message:by-key / message:by-time. Reads go over PULL_MESSAGE
 * (group TOOLS_CONSUMER, no offset commit), VIEW_MESSAGE_BY_ID, QUERY_MESSAGE and
 * SEARCH_OFFSET_BY_TIMESTAMP, decoded with the stored-message codec. Every scan has a budget of
 * rows and time and says `partial` when it stopped early. RocketMQ: mqadmin queryMsgById /
 * queryMsgByKey / queryMsgByUniqueKey, dashboard MessageServiceImpl.
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { decodeMessageId, type MessageExt } from '../../broker/store/message-codec.js';
import { ConsoleError } from '../contract/errors.js';
import { MAX_TIMESTAMP } from '../contract/schemas.js';
import type { MessageDetail, MessageRow } from '../contract/dto.js';
import type { Handler } from '../dispatch.js';
import {
  Budget, TOOLS_CONSUMER_GROUP, decodeMessages, errorText, routeBrokers, toDetail, toRow, topicRoute,
} from '../cluster-view.js';

/** Messages per pull: RocketMQ brokers transfer at most 32 per pull from memory by default. */
const PULL_BATCH = 32;

/**
 * Pulls [from, toExclusive) of one queue, calling `take` per message until it returns false or the
 * budget runs out. Returns the offset to continue from.
 */
export async function pullRange(admin: MQAdmin, addr: string, topic: string, queueId: number, from: number, toExclusive: number | null,
  budget: Budget, take: (m: MessageExt) => boolean, subscription = '*'): Promise<number> {
  let offset = from;
  for (;;) {
    if (toExclusive !== null && offset >= toExclusive) return offset;
    if (!budget.ok()) return offset;
    const want = Math.min(PULL_BATCH, budget.remainingRows(), toExclusive === null ? PULL_BATCH : toExclusive - offset);
    const r = await admin.pull(addr, { group: TOOLS_CONSUMER_GROUP, topic, queueId, offset, maxNums: Math.max(1, want), subscription });
    if (r.status === 'FOUND') {
      const messages = decodeMessages(r.body);
      if (messages.length === 0) return offset;
      for (const m of messages) {
        if (toExclusive !== null && m.queueOffset >= toExclusive) return m.queueOffset;
        if (!take(m)) return m.queueOffset + 1;
      }
      const next = r.nextBeginOffset ?? messages[messages.length - 1]!.queueOffset + 1;
      if (next <= offset) return offset;
      offset = next;
    } else if (r.status === 'NO_MATCHED_MSG' && r.nextBeginOffset !== null && r.nextBeginOffset > offset) {
      offset = r.nextBeginOffset;
    } else if (r.status === 'OFFSET_ILLEGAL' && r.minOffset !== null && offset < r.minOffset) {
      offset = r.minOffset; // below the queue's start (old files deleted): continue from its start
    } else {
      return offset; // end of the queue
    }
  }
}

function queueAddress(route: Awaited<ReturnType<typeof topicRoute>>, brokerName: string): string | null {
  const data = route.brokerDatas.find((b) => b.brokerName === brokerName);
  if (!data) return null;
  const ids = Object.keys(data.brokerAddrs).map(Number).sort((a, b) => a - b);
  return data.brokerAddrs['0'] ?? (ids.length > 0 ? data.brokerAddrs[String(ids[0])] ?? null : null);
}

export const messageBrowse: Handler<'message:browse'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const broker = routeBrokers(route).find((b) => b.brokerName === req.brokerName);
  const addr = queueAddress(route, req.brokerName);
  if (!broker || !addr) throw new ConsoleError('NOT_FOUND', `Broker "${req.brokerName}" does not serve topic "${req.topic}"`);
  if (req.queueId >= broker.readQueueNums) {
    throw new ConsoleError('NOT_FOUND', `Queue ${req.queueId} does not exist on ${req.brokerName} (it has ${broker.readQueueNums})`);
  }
  const [minOffset, maxOffset] = await Promise.all([
    admin.minOffset(addr, req.topic, req.queueId).catch(() => null),
    admin.maxOffset(addr, req.topic, req.queueId).catch(() => null),
  ]);
  const budget = new Budget(Math.min(req.count, req.budget.maxRows), req.budget.maxMs, ctx.op?.signal);
  const rows: MessageRow[] = [];
  const start = minOffset !== null && req.fromOffset < minOffset ? minOffset : req.fromOffset;
  const next = await pullRange(admin, addr, req.topic, req.queueId, start, maxOffset, budget, (m) => {
    rows.push(toRow(m, req.brokerName));
    budget.rows++;
    ctx.op?.progress(rows.length, req.count, null);
    return rows.length < req.count;
  });
  const reachedEnd = maxOffset !== null && next >= maxOffset;
  // Stopping because the page is full is not "partial"; stopping on the budget before that is.
  const partial = !reachedEnd && rows.length < req.count && budget.reason !== null;
  return { messages: rows, nextOffset: next, minOffset, maxOffset, partial, stoppedBy: partial ? budget.reason : null };
};

export const messageById: Handler<'message:by-id'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  // Known node addresses: an id decoding to any other host is never contacted.
  const info = await admin.clusterInfo();
  const brokerOfAddr = new Map<string, string>();
  for (const b of Object.values(info.brokerAddrTable ?? {})) for (const a of Object.values(b.brokerAddrs ?? {})) brokerOfAddr.set(a, b.brokerName);

  if (req.topic) {
    const route = await topicRoute(admin, req.topic);
    const found: MessageDetail[] = [];
    for (const b of routeBrokers(route)) {
      const addr = queueAddress(route, b.brokerName);
      if (!addr) continue;
      const body = await admin.queryMessage(addr, {
        topic: req.topic, key: req.msgId, maxNum: 32, beginTimestamp: 0, endTimestamp: MAX_TIMESTAMP, uniqueKey: true,
      });
      for (const m of decodeMessages(body)) {
        if (m.topic === req.topic && (m.properties['UNIQ_KEY'] === req.msgId || m.msgId === req.msgId)) found.push(toDetail(m, b.brokerName));
      }
    }
    if (found.length > 0) return { messages: dedupe(found), via: 'uniqueKey' };
  }
  if (/^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/.test(req.msgId)) {
    let decoded: { address: string; offset: number } | null = null;
    try {
      decoded = decodeMessageId(req.msgId);
    } catch {
      decoded = null;
    }
    const brokerName = decoded ? brokerOfAddr.get(decoded.address) : undefined;
    if (decoded && brokerName) {
      const messages = decodeMessages(await admin.viewMessage(decoded.address, decoded.offset));
      const m = messages[0];
      if (m && (!req.topic || m.topic === req.topic)) return { messages: [toDetail(m, brokerName)], via: 'offsetId' };
    }
  }
  throw new ConsoleError('NOT_FOUND', req.topic
    ? `No message with id "${req.msgId}" in topic "${req.topic}"`
    : `No message with offset id "${req.msgId}" (give the topic to search by unique key)`);
};

function dedupe(list: MessageDetail[]): MessageDetail[] {
  const seen = new Set<string>();
  return list.filter((m) => (seen.has(m.msgId) ? false : (seen.add(m.msgId), true)));
}

export const messageByKey: Handler<'message:by-key'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const rows: MessageRow[] = [];
  const errors: string[] = [];
  for (const b of routeBrokers(route)) {
    const addr = queueAddress(route, b.brokerName);
    if (!addr) continue;
    try {
      const body = await admin.queryMessage(addr, {
        topic: req.topic, key: req.key, maxNum: req.maxNum, beginTimestamp: req.beginTime, endTimestamp: req.endTime ?? MAX_TIMESTAMP,
      });
      // The index is a hash: keep only messages whose KEYS really hold the key (RocketMQ does the same).
      for (const m of decodeMessages(body)) {
        const keys = (m.properties['KEYS'] ?? '').split(' ');
        if (m.topic === req.topic && keys.includes(req.key)) rows.push(toRow(m, b.brokerName));
      }
    } catch (error) {
      errors.push(`${b.brokerName}: ${errorText(error)}`);
    }
  }
  rows.sort((a, b) => b.storeTimestamp - a.storeTimestamp);
  const partial = errors.length > 0 || rows.length > req.maxNum;
  return { messages: rows.slice(0, req.maxNum), partial, stoppedBy: rows.length > req.maxNum ? 'rows' : null, errors };
};

export const messageByTime: Handler<'message:by-time'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const budget = new Budget(req.budget.maxRows, req.budget.maxMs, ctx.op?.signal);
  const rows: MessageRow[] = [];
  const errors: string[] = [];
  let unfinished = false;
  const brokers = routeBrokers(route);
  const totalQueues = brokers.reduce((n, b) => n + b.readQueueNums, 0);
  let queuesDone = 0;
  for (const b of brokers) {
    const addr = queueAddress(route, b.brokerName);
    if (!addr) {
      errors.push(`${b.brokerName}: no node is up`);
      continue;
    }
    for (let queueId = 0; queueId < b.readQueueNums; queueId++) {
      if (!budget.ok()) {
        unfinished = true;
        break;
      }
      try {
        const from = await admin.searchOffset(addr, req.topic, queueId, req.beginTime);
        const to = await admin.searchOffset(addr, req.topic, queueId, Math.min(MAX_TIMESTAMP, req.endTime + 1));
        if (to <= from) continue;
        const end = to;
        const next = await pullRange(admin, addr, req.topic, queueId, from, end, budget, (m) => {
          if (m.storeTimestamp >= req.beginTime && m.storeTimestamp <= req.endTime) {
            rows.push(toRow(m, b.brokerName));
            budget.rows++;
          }
          return true;
        });
        if (next < end) unfinished = true;
      } catch (error) {
        errors.push(`${b.brokerName}/${queueId}: ${errorText(error)}`);
      }
      ctx.op?.progress(++queuesDone, totalQueues, `${b.brokerName}/${queueId}`);
    }
  }
  rows.sort((a, b) => a.storeTimestamp - b.storeTimestamp || a.queueId - b.queueId || a.queueOffset - b.queueOffset);
  const partial = (unfinished && budget.reason !== null) || errors.length > 0;
  return { messages: rows, partial, stoppedBy: unfinished ? budget.reason : null, errors };
};

