/**
 * playground:send (SEND_MESSAGE_V2 to one writable queue, round robin) and playground:tail /
 * playground:tail-stop (tail.ts). Sends carry a client unique key (UNIQ_KEY) so they can be found
 * by id, and the broker's offset message id comes back too.
 */
import { randomBytes } from 'node:crypto';
import { encodeProperties } from '../../broker/store/message-codec.js';
import { ResponseCode } from '../../remoting/response-code.js';
import { ConsoleError } from '../contract/errors.js';
import type { Handler } from '../dispatch.js';
import { PLAYGROUND_PRODUCER_GROUP, routeBrokers, topicRoute } from '../cluster-view.js';

/** MessageConst names a producer or broker sets; a user property may not override them. */
export const RESERVED_PROPERTIES = new Set([
  'KEYS', 'TAGS', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG', 'PGROUP', 'MIN_OFFSET', 'MAX_OFFSET',
  'BUYER_ID', 'ORIGIN_MESSAGE_ID', 'TRANSFER_FLAG', 'CORRECTION_FLAG', 'MQ2_FLAG', 'RECONSUME_TIME', 'MSG_REGION', 'TRACE_ON',
  'UNIQ_KEY', 'MAX_RECONSUME_TIMES', 'CONSUME_START_TIME', 'CLUSTER', '__STARTDELIVERTIME', 'TIMER_DELIVER_MS', 'TIMER_DELAY_SEC',
  'TIMER_DELAY_MS', '__transactionId__', 'TRAN_PREPARED_QUEUE_OFFSET', 'INSTANCE_ID', 'CORRELATION_ID', 'REPLY_TO_CLIENT',
  'TTL', 'ARRIVE_TIME', 'PUSH_REPLY_TIME', 'MSG_TYPE',
]);
const MAX_PROPERTIES_BYTES = 32767;

let counter = Math.floor(Math.random() * 0xffff);
const processPrefix = (() => {
  const b = Buffer.alloc(10);
  Buffer.from([127, 0, 0, 1]).copy(b, 0);
  b.writeUInt16BE(process.pid & 0xffff, 4);
  randomBytes(4).copy(b, 6);
  return b.toString('hex').toUpperCase();
})();
const monthStart = (() => {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime();
})();

/** A unique key in Java's MessageClientIDSetter layout: ip, pid, random, time since month start, counter. */
export function createUniqueKey(now = Date.now()): string {
  const tail = Buffer.alloc(6);
  tail.writeUInt32BE((now - monthStart) >>> 0, 0);
  counter = (counter + 1) & 0xffff;
  tail.writeUInt16BE(counter, 4);
  return processPrefix + tail.toString('hex').toUpperCase();
}

let roundRobin = 0;

const SEND_STATUS: Record<number, string> = {
  [ResponseCode.SUCCESS]: 'SEND_OK',
  [ResponseCode.FLUSH_DISK_TIMEOUT]: 'FLUSH_DISK_TIMEOUT',
  [ResponseCode.FLUSH_SLAVE_TIMEOUT]: 'FLUSH_SLAVE_TIMEOUT',
  [ResponseCode.SLAVE_NOT_AVAILABLE]: 'SLAVE_NOT_AVAILABLE',
};

export const playgroundSend: Handler<'playground:send'> = async (req, ctx) => {
  for (const name of Object.keys(req.properties)) {
    if (RESERVED_PROPERTIES.has(name)) throw new ConsoleError('BAD_REQUEST', `Property "${name}" is reserved; use the tags, keys or delay fields`);
  }
  let body: Buffer;
  if (req.bodyEncoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(req.body) || req.body.length % 4 !== 0) throw new ConsoleError('BAD_REQUEST', 'The body is not valid base64');
    body = Buffer.from(req.body, 'base64');
  } else {
    body = Buffer.from(req.body, 'utf8');
  }
  const admin = ctx.connections.get(req.connectionId).admin;
  const route = await topicRoute(admin, req.topic);
  const queues: Array<{ brokerName: string; addr: string; queueId: number }> = [];
  for (const b of routeBrokers(route)) {
    if (!b.addr || (b.perm & 2) === 0) continue;
    for (let q = 0; q < b.writeQueueNums; q++) queues.push({ brokerName: b.brokerName, addr: b.addr, queueId: q });
  }
  if (queues.length === 0) throw new ConsoleError('CONFLICT', `Topic "${req.topic}" has no writable queue on a running master`);
  const target = queues[roundRobin++ % queues.length]!;
  const uniqKey = createUniqueKey();
  const properties: Record<string, string> = { ...req.properties };
  if (req.tags) properties['TAGS'] = req.tags;
  if (req.keys.length > 0) properties['KEYS'] = req.keys.join(' ');
  if (req.delayLevel > 0) properties['DELAY'] = String(req.delayLevel);
  properties['WAIT'] = 'true';
  properties['UNIQ_KEY'] = uniqKey;
  const encoded = encodeProperties(properties);
  if (Buffer.byteLength(encoded, 'utf8') > MAX_PROPERTIES_BYTES) throw new ConsoleError('BAD_REQUEST', 'The properties are longer than 32767 bytes');
  const res = await admin.sendMessage(target.addr, {
    producerGroup: PLAYGROUND_PRODUCER_GROUP, topic: req.topic, queueId: target.queueId, properties: encoded, body,
  });
  return {
    msgId: res.msgId ?? uniqKey,
    uniqKey,
    brokerName: target.brokerName,
    queueId: res.queueId ?? target.queueId,
    queueOffset: res.queueOffset,
    status: SEND_STATUS[res.code] ?? `code ${res.code}`,
  };
};

export const playgroundTail: Handler<'playground:tail'> = async (req, ctx) => {
  const connection = ctx.connections.get(req.connectionId);
  const tailId = await ctx.tails.start(ctx.session, connection, req.topic, req.filterType === 'SQL92' ? { sql: req.sql! } : req.tags);
  return { tailId };
};

export const playgroundTailStop: Handler<'playground:tail-stop'> = async (req, ctx) => {
  ctx.tails.stop(req.tailId, ctx.session);
  return { ok: true };
};
