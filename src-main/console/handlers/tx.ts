/**
 * tx:stats / tx:list / tx:resolve / tx:recheck / audit:list. Stats and lists are read from the
 * transaction topics (ops/tx-scan.ts). A manual commit or rollback is END_TRANSACTION (37) to the
 * half message's master with its producer group, half-queue offset and commitlog offset, as a
 * producer answering a check would send it but with fromTransactionCheck=false; putting a
 * discarded message back under check produces it again as a prepared message (TRAN_MSG=true,
 * PGROUP kept) to its real topic. Both are confirmed by the page and written to the audit log.
 */
import { ConsoleError } from '../contract/errors.js';
import type { TxDiscardedRow, TxHalfRow } from '../contract/ops-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { RequestCode } from '../../remoting/request-code.js';
import { MessageSysFlag, type MessageExt } from '../../broker/store/message-codec.js';
import { errorText } from '../cluster-view.js';
import {
  AGE_BUCKETS_MS, DISCARD_TOPIC, HALF_TOPIC, OP_TOPIC, checkTimesOf, scanBroker, scanTransactions, type BrokerTransactions,
} from '../ops/tx-scan.js';
import { masterOf, queryAcross, routeMasters, routeOrNull, TopicSender, viewByOffsetId } from '../ops/cluster-ops.js';
import { copySysFlag, copyableProperties } from '../ops/message-copy.js';
import { traceRecords } from './trace.js';

const CLASSIFY_MAX = 200;
const ANSWERS_MAX = 50;

function halfRow(brokerName: string, copies: MessageExt[], now: number): TxHalfRow {
  const first = copies[0]!;
  const latest = copies[copies.length - 1]!;
  const checkTimes = checkTimesOf(latest);
  return {
    brokerName, msgId: latest.msgId, uniqKey: latest.properties['UNIQ_KEY'] ?? null, transactionId: latest.properties['__transactionId__'] ?? null,
    producerGroup: latest.properties['PGROUP'] ?? null, topic: latest.properties['REAL_TOPIC'] ?? null,
    queueId: latest.properties['REAL_QID'] !== undefined ? Number(latest.properties['REAL_QID']) : null,
    keys: latest.properties['KEYS'] ?? null, tags: latest.properties['TAGS'] ?? null, bornTimestamp: first.bornTimestamp,
    ageMs: Math.max(0, now - first.bornTimestamp), checkTimes, lastCheckAt: checkTimes > 0 && copies.length > 1 ? latest.storeTimestamp : null,
    lastAnswer: null, halfOffset: latest.queueOffset, originalHalfOffset: first.queueOffset,
  };
}

async function requeued(ctx: HandlerContext): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const a of await ctx.ops.audit.find({ action: 'tx-recheck', result: 'ok' }, { at: 1 })) out.set(a.target, a.at);
  return out;
}

function discardedRow(brokerName: string, m: MessageExt, requeuedAt: number | null): TxDiscardedRow {
  return {
    brokerName, msgId: m.msgId, uniqKey: m.properties['UNIQ_KEY'] ?? null, producerGroup: m.properties['PGROUP'] ?? null,
    topic: m.properties['REAL_TOPIC'] ?? null, keys: m.properties['KEYS'] ?? null, checkTimes: checkTimesOf(m),
    bornTimestamp: m.bornTimestamp, storeTimestamp: m.storeTimestamp, requeuedAt,
  };
}

export async function txSummary(ctx: HandlerContext, connectionId: string, scans?: BrokerTransactions[]): Promise<{ scans: BrokerTransactions[]; errors: string[] }> {
  const errors: string[] = [];
  const admin = ctx.connections.get(connectionId).admin;
  return { scans: scans ?? await scanTransactions(admin, errors), errors };
}

export const txStats: Handler<'tx:stats'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const { scans, errors } = await txSummary(ctx, req.connectionId);
  const now = Date.now();
  const histogram = AGE_BUCKETS_MS.map(([fromMs, toMs]) => ({ fromMs, toMs, count: 0 }));
  let pending = 0;
  let oldest: number | null = null;
  const ended: Array<{ m: MessageExt }> = [];
  for (const s of scans) {
    for (const t of s.transactions) {
      if (t.state === 'pending') {
        pending++;
        const age = Math.max(0, now - t.copies[0]!.bornTimestamp);
        oldest = oldest === null ? age : Math.max(oldest, age);
        const bucket = histogram.find((h) => age >= h.fromMs && (h.toMs === null || age < h.toMs));
        if (bucket) bucket.count++;
      } else if (t.state === 'ended') {
        ended.push({ m: t.copies[t.copies.length - 1]! });
      }
    }
  }
  // Committed or rolled back: a commit left a message with the same UNIQ_KEY in the real topic.
  ended.sort((a, b) => b.m.storeTimestamp - a.m.storeTimestamp);
  let committed = 0;
  let rolledBack = 0;
  let unclassified = 0;
  const routes = new Map<string, Awaited<ReturnType<typeof routeOrNull>>>();
  const toClassify = ended.slice(0, CLASSIFY_MAX);
  unclassified += ended.length - toClassify.length;
  for (let i = 0; i < toClassify.length; i += 8) {
    await Promise.all(toClassify.slice(i, i + 8).map(async ({ m }) => {
      const uniq = m.properties['UNIQ_KEY'];
      const topic = m.properties['REAL_TOPIC'];
      if (!uniq || !topic) {
        unclassified++;
        return;
      }
      try {
        if (!routes.has(topic)) routes.set(topic, await routeOrNull(admin, topic));
        const hits = await queryAcross(admin, topic, uniq, true, errors, 4, routes.get(topic));
        if (hits.length > 0) committed++;
        else rolledBack++;
      } catch {
        unclassified++;
      }
    }));
  }
  return {
    pending, oldestAgeMs: oldest, ageHistogram: histogram, committed, rolledBack, unclassified,
    discarded: scans.reduce((s, b) => s + b.discardedTotal, 0),
    perBroker: scans.map((s) => ({ brokerName: s.brokerName, halfMaxOffset: s.halfMaxOffset, checkedUpTo: s.checkedUpTo, opMaxOffset: s.opMaxOffset })),
    partial: scans.some((s) => s.partial) || errors.length > 0,
    errors: errors.slice(0, 20),
  };
};

export const txList: Handler<'tx:list'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const { scans, errors } = await txSummary(ctx, req.connectionId);
  const now = Date.now();
  const q = req.search.trim().toLowerCase();
  const match = (values: Array<string | null>): boolean => !q || values.some((v) => v?.toLowerCase().includes(q));
  const pending: TxHalfRow[] = [];
  for (const s of scans) {
    for (const t of s.transactions) {
      if (t.state !== 'pending') continue;
      const row = halfRow(s.brokerName, t.copies, now);
      if (match([row.producerGroup, row.topic, row.keys, row.uniqKey, row.msgId])) pending.push(row);
    }
  }
  pending.sort((a, b) => b.ageMs - a.ageMs);
  const rows = pending.slice(0, req.limit);
  // The producer's last answer, when it sends trace records (EndTransaction, from a check or not).
  const answers = rows.slice(0, ANSWERS_MAX).filter((r) => r.uniqKey);
  await Promise.all(answers.map(async (r) => {
    try {
      const { records } = await traceRecords(admin, [r.uniqKey!], []);
      const ends = records.filter((x) => x.type === 'EndTransaction').sort((a, b) => b.timeStamp - a.timeStamp);
      const last = ends[0];
      if (last && last.type === 'EndTransaction') r.lastAnswer = last.transactionState;
    } catch {
      // no answer known
    }
  }));
  const done = await requeued(ctx);
  const discarded: TxDiscardedRow[] = [];
  for (const s of scans) {
    for (const m of s.discarded) {
      const row = discardedRow(s.brokerName, m, done.get(m.msgId) ?? null);
      if (match([row.producerGroup, row.topic, row.keys, row.uniqKey, row.msgId])) discarded.push(row);
    }
  }
  discarded.sort((a, b) => b.storeTimestamp - a.storeTimestamp);
  return {
    pending: rows, discarded: discarded.slice(0, req.limit),
    partial: scans.some((s) => s.partial) || pending.length > req.limit || errors.length > 0, errors: errors.slice(0, 20),
  };
};

export const txResolve: Handler<'tx:resolve'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const found = await viewByOffsetId(admin, req.msgId.toUpperCase());
  if (found.m.topic !== HALF_TOPIC) throw new ConsoleError('BAD_REQUEST', `${req.msgId} is not a half message (it is in ${found.m.topic})`);
  if (found.brokerName !== req.brokerName) throw new ConsoleError('BAD_REQUEST', `${req.msgId} is on ${found.brokerName}, not ${req.brokerName}`);
  const master = await masterOf(admin, req.brokerName);
  // Still open? (A transaction already ended is answered by the broker as a no-op; say so instead.)
  const scan = await scanBroker(admin, req.brokerName, master, []);
  const txn = scan.transactions.find((t) => t.copies.some((c) => c.msgId === found.m.msgId));
  if (txn && (txn.state === 'ended' || txn.state === 'discarded')) throw new ConsoleError('CONFLICT', `This transaction is already ${txn.state}`);
  // A check may have re-appended it since the page loaded: END_TRANSACTION names the latest copy.
  const m = txn?.copies[txn.copies.length - 1] ?? found.m;
  const producerGroup = m.properties['PGROUP'];
  if (!producerGroup) throw new ConsoleError('CONFLICT', 'The half message has no producer group (PGROUP); the broker would refuse it');
  const commit = req.action === 'commit';
  const target = `${req.brokerName} ${m.msgId} (${m.properties['REAL_TOPIC'] ?? '?'}, ${producerGroup})`;
  const opBefore = await admin.maxOffset(master, OP_TOPIC, 0).catch(() => 0);
  try {
    await admin.call(master, RequestCode.END_TRANSACTION, {
      producerGroup, tranStateTableOffset: m.queueOffset, commitLogOffset: m.commitLogOffset,
      commitOrRollback: commit ? MessageSysFlag.TRANSACTION_COMMIT_TYPE : MessageSysFlag.TRANSACTION_ROLLBACK_TYPE,
      fromTransactionCheck: false, msgId: m.properties['UNIQ_KEY'] ?? m.msgId, transactionId: m.properties['__transactionId__'] ?? m.properties['UNIQ_KEY'],
    });
  } catch (error) {
    await ctx.ops.recordAudit({ action: commit ? 'tx-commit' : 'tx-rollback', connectionId: req.connectionId, target, detail: 'END_TRANSACTION', result: 'failed', error: errorText(error) });
    throw error;
  }
  let verified = false;
  const deadline = Date.now() + 3000;
  while (!verified && Date.now() < deadline) {
    const uniq = m.properties['UNIQ_KEY'];
    const realTopic = m.properties['REAL_TOPIC'];
    if (commit && uniq && realTopic) verified = (await queryAcross(admin, realTopic, uniq, true, [], 4)).length > 0;
    else verified = (await admin.maxOffset(master, OP_TOPIC, 0).catch(() => opBefore)) > opBefore;
    if (!verified) await new Promise((r) => setTimeout(r, 200));
  }
  const audit = await ctx.ops.recordAudit({
    action: commit ? 'tx-commit' : 'tx-rollback', connectionId: req.connectionId, target,
    detail: `END_TRANSACTION ${commit ? 'COMMIT (8)' : 'ROLLBACK (12)'} half offset ${m.queueOffset}, commitlog offset ${m.commitLogOffset}${verified ? '' : ' (not verified)'}`,
    result: 'ok', error: null,
  });
  return { outcome: commit ? 'COMMIT' : 'ROLLBACK', auditId: audit.id, verified };
};

export const txRecheck: Handler<'tx:recheck'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const found = await viewByOffsetId(admin, req.msgId.toUpperCase());
  const m = found.m;
  if (m.topic !== DISCARD_TOPIC) throw new ConsoleError('BAD_REQUEST', `${req.msgId} is not a discarded half message (it is in ${m.topic})`);
  if (found.brokerName !== req.brokerName) throw new ConsoleError('BAD_REQUEST', `${req.msgId} is on ${found.brokerName}, not ${req.brokerName}`);
  const done = (await requeued(ctx)).get(m.msgId);
  if (done !== undefined && !req.again) {
    throw new ConsoleError('CONFLICT', `Already put back under check at ${new Date(done).toISOString()}; confirm again to do it twice`);
  }
  const producerGroup = m.properties['PGROUP'];
  const realTopic = m.properties['REAL_TOPIC'];
  if (!producerGroup || !realTopic) throw new ConsoleError('CONFLICT', 'The message has no PGROUP or REAL_TOPIC; it cannot be a transaction again');
  const properties = copyableProperties(m);
  properties['TRAN_MSG'] = 'true';
  properties['PGROUP'] = producerGroup;
  properties['WAIT'] = 'true';
  const realQid = Number(m.properties['REAL_QID'] ?? 0);
  const route = await routeOrNull(admin, realTopic);
  const brokers = routeMasters(route);
  const same = brokers.find((b) => b.brokerName === req.brokerName && realQid < b.writeQueueNums) ?? brokers[0];
  if (!same) throw new ConsoleError('NOT_FOUND', `Topic "${realTopic}" has no master up`);
  const sender = new TopicSender(admin, producerGroup);
  const target = `${req.brokerName} ${m.msgId} (${realTopic}, ${producerGroup})`;
  let sent;
  try {
    sent = await sender.send({
      topic: realTopic, properties, body: m.body, flag: m.flag, sysFlag: copySysFlag(m.sysFlag) | MessageSysFlag.TRANSACTION_PREPARED_TYPE,
      producerGroup, queue: { brokerName: same.brokerName, addr: same.addr, queueId: realQid < same.writeQueueNums ? realQid : 0 },
    });
  } catch (error) {
    await ctx.ops.recordAudit({ action: 'tx-recheck', connectionId: req.connectionId, target: m.msgId, detail: target, result: 'failed', error: errorText(error) });
    throw error;
  }
  const audit = await ctx.ops.recordAudit({
    action: 'tx-recheck', connectionId: req.connectionId, target: m.msgId,
    detail: `${target} sent again as a prepared message ${sent.msgId ?? ''}`.trim(), result: 'ok', error: null,
  });
  return { newMsgId: sent.msgId, auditId: audit.id };
};

export const auditList: Handler<'audit:list'> = async (req, ctx) =>
  ctx.ops.audit.find(req.connectionId ? { connectionId: req.connectionId } : {}, { at: -1 }, req.limit);
