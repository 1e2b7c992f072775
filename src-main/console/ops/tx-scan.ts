/**
 * Reading transaction state from a cluster, per master (reference §11.3): half messages in
 * RMQ_SYS_TRANS_HALF_TOPIC queue 0, ops in RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0 (body = half-queue
 * offsets "12,13,"), discarded half messages in TRANS_CHECK_MAX_TIME_TOPIC, and the check scan's
 * progress (offset of group CID_RMQ_SYS_TRANS on the half queue: below it every half message is
 * ended, discarded or has a later copy). A check re-appends a copy with TRAN_PREPARED_QUEUE_OFFSET
 * = the original's half offset, so a transaction is the set of half messages with one key; it is
 * ended when an op names any of them. Scans are bounded windows at the end of each queue.
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { uncompressedBody, type MessageExt } from '../../broker/store/message-codec.js';
import { errorText } from '../cluster-view.js';
import { pullPages, queryConsumerOffset, routeMasters, routeOrNull } from './cluster-ops.js';

export const HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
export const OP_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
export const DISCARD_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';
export const TRANS_CHECK_GROUP = 'CID_RMQ_SYS_TRANS';
const HALF_WINDOW = 50_000;
const OP_WINDOW = 100_000;
const DISCARD_WINDOW = 5_000;

export function decodeOpOffsets(body: Buffer): number[] {
  const out: number[] = [];
  for (const part of body.toString('utf8').split(',')) {
    const n = Number(part.trim());
    if (part.trim() !== '' && Number.isSafeInteger(n) && n >= 0) out.push(n);
  }
  return out;
}

export function transactionKey(m: MessageExt): number {
  const n = Number(m.properties['TRAN_PREPARED_QUEUE_OFFSET']);
  return Number.isSafeInteger(n) && n >= 0 && m.properties['TRAN_PREPARED_QUEUE_OFFSET'] !== undefined ? n : m.queueOffset;
}

export const checkTimesOf = (m: MessageExt): number => {
  const n = Number(m.properties['TRANSACTION_CHECK_TIMES'] ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
};

export interface Transaction {
  key: number;
  /** Copies oldest first; the last is what END_TRANSACTION should name. */
  copies: MessageExt[];
  state: 'pending' | 'ended' | 'discarded' | 'unknown';
}

export interface BrokerTransactions {
  brokerName: string;
  addr: string;
  halfMaxOffset: number;
  checkedUpTo: number | null;
  opMaxOffset: number;
  transactions: Transaction[];
  discarded: MessageExt[];
  discardedTotal: number;
  partial: boolean;
}

async function queueRange(admin: MQAdmin, addr: string, topic: string, queueId = 0): Promise<{ min: number; max: number }> {
  const [min, max] = await Promise.all([admin.minOffset(addr, topic, queueId), admin.maxOffset(addr, topic, queueId)]);
  return { min, max };
}

export async function scanBroker(admin: MQAdmin, brokerName: string, addr: string, errors: string[]): Promise<BrokerTransactions> {
  const half = await queueRange(admin, addr, HALF_TOPIC);
  const op = await queueRange(admin, addr, OP_TOPIC).catch(() => ({ min: 0, max: 0 }));
  const checkedUpTo = await queryConsumerOffset(admin, addr, TRANS_CHECK_GROUP, HALF_TOPIC, 0).catch(() => null);
  let partial = false;

  const ended = new Set<number>();
  const opFrom = Math.max(op.min, op.max - OP_WINDOW);
  if (opFrom > op.min) partial = true;
  for await (const page of pullPages(admin, addr, OP_TOPIC, 0, opFrom, op.max)) {
    for (const m of page) {
      let body: Buffer;
      try {
        body = uncompressedBody(m);
      } catch {
        continue;
      }
      for (const o of decodeOpOffsets(body)) ended.add(o);
    }
  }

  const discarded: MessageExt[] = [];
  let discardedTotal = 0;
  const discardedIds = new Set<string>();
  const discardRoute = await routeOrNull(admin, DISCARD_TOPIC).catch(() => null);
  const here = routeMasters(discardRoute).find((b) => b.brokerName === brokerName);
  for (let q = 0; here && q < here.readQueueNums; q++) {
    const r = await queueRange(admin, addr, DISCARD_TOPIC, q);
    discardedTotal += r.max - r.min;
    for await (const page of pullPages(admin, addr, DISCARD_TOPIC, q, Math.max(r.min, r.max - DISCARD_WINDOW), r.max)) {
      for (const m of page) {
        discarded.push(m);
        discardedIds.add(m.properties['__transactionId__'] ?? m.properties['UNIQ_KEY'] ?? `${transactionKey(m)}`);
      }
    }
  }

  const from = Math.max(half.min, Math.min(checkedUpTo ?? half.min, half.max - HALF_WINDOW));
  if (from > half.min) partial = true;
  const byKey = new Map<number, Transaction>();
  for await (const page of pullPages(admin, addr, HALF_TOPIC, 0, from, half.max)) {
    for (const m of page) {
      const key = transactionKey(m);
      const t = byKey.get(key) ?? { key, copies: [], state: 'unknown' as const };
      t.copies.push(m);
      byKey.set(key, t);
    }
  }
  for (const t of byKey.values()) {
    t.copies.sort((a, b) => a.queueOffset - b.queueOffset);
    const latest = t.copies[t.copies.length - 1]!;
    const id = latest.properties['__transactionId__'] ?? latest.properties['UNIQ_KEY'] ?? `${t.key}`;
    if (ended.has(t.key) || t.copies.some((c) => ended.has(c.queueOffset))) t.state = 'ended';
    else if (discardedIds.has(id)) t.state = 'discarded';
    // Below the check scan's progress with no op seen: ended by an op outside the window, or discarded.
    else if (checkedUpTo !== null && latest.queueOffset < checkedUpTo) t.state = 'unknown';
    else t.state = 'pending';
  }
  if (errors.length > 50) errors.splice(50);
  return {
    brokerName, addr, halfMaxOffset: half.max, checkedUpTo, opMaxOffset: op.max,
    transactions: [...byKey.values()].sort((a, b) => a.key - b.key), discarded, discardedTotal, partial,
  };
}

/** Every master serving the half topic. */
export async function scanTransactions(admin: MQAdmin, errors: string[]): Promise<BrokerTransactions[]> {
  const route = await routeOrNull(admin, HALF_TOPIC);
  const out: BrokerTransactions[] = [];
  for (const b of routeMasters(route)) {
    try {
      out.push(await scanBroker(admin, b.brokerName, b.addr, errors));
    } catch (error) {
      errors.push(`${b.brokerName}: ${errorText(error)}`);
    }
  }
  return out;
}

export const AGE_BUCKETS_MS: ReadonlyArray<[number, number | null]> = [
  [0, 10_000], [10_000, 60_000], [60_000, 300_000], [300_000, 1_800_000], [1_800_000, 7_200_000], [7_200_000, null],
];
