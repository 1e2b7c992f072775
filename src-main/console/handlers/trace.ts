/**
 * trace:by-id / trace:by-key: the path of one message, put together from what any RocketMQ cluster
 * answers: the message itself (QUERY_MESSAGE by unique key or key on every master of its topic,
 * VIEW_MESSAGE_BY_ID for an offset id; a message still in SCHEDULE_TOPIC_XXXX or the half topic is
 * found there), the groups of its topic (QUERY_TOPIC_CONSUME_BY_WHO) with their committed offset
 * on its queue (GET_CONSUME_STATS), its copies in each group's %RETRY% and %DLQ% topics, client
 * trace records in RMQ_SYS_TRACE_TOPIC (§12) when clients send them, and the resends made from this
 * console. Each step says whether it happened, is still pending, is absent, or is unknown.
 */
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { ConsoleError } from '../contract/errors.js';
import type { MessageTrace, ResendRecord, TraceEvent, TraceGroup, TraceRecord } from '../contract/ops-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { errorText, isSystemGroup, toDetail, toRow } from '../cluster-view.js';
import { uncompressedBody } from '../../broker/store/message-codec.js';
import { parseTraceBody } from '../ops/trace-records.js';
import { findCopies, originIds } from '../ops/copies.js';
import { dlqTopicOf, isRetryOrDlq, retryTopicOf } from '../ops/message-copy.js';
import { dedupeLocated, queryAcross, queryConsumerOffset, routeMasters, routeOrNull, viewByOffsetId, type Located } from '../ops/cluster-ops.js';

export const TRACE_TOPIC = 'RMQ_SYS_TRACE_TOPIC';
const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
const HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
const OFFSET_ID = /^([0-9A-Fa-f]{32}|[0-9A-Fa-f]{56})$/;

/** Client trace records about any of the ids (RMQ_SYS_TRACE_TOPIC is keyed by the traced msgIds). */
export async function traceRecords(admin: MQAdmin, ids: Iterable<string>, errors: string[]): Promise<{ records: TraceRecord[]; topic: boolean }> {
  const route = await routeOrNull(admin, TRACE_TOPIC).catch(() => null);
  if (!route) return { records: [], topic: false };
  const wanted = new Set(ids);
  const hits: Located[] = [];
  for (const id of wanted) hits.push(...await queryAcross(admin, TRACE_TOPIC, id, false, errors, 64, route));
  const records: TraceRecord[] = [];
  const seen = new Set<string>();
  for (const h of dedupeLocated(hits)) {
    let text: string;
    try {
      text = uncompressedBody(h.m).toString('utf8');
    } catch {
      continue;
    }
    for (const r of parseTraceBody(text)) {
      if (!wanted.has(r.msgId)) continue;
      const key = JSON.stringify(r);
      if (!seen.has(key)) {
        seen.add(key);
        records.push(r);
      }
    }
  }
  return { records, topic: true };
}

async function groupsOf(admin: MQAdmin, topic: string, errors: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const route = await routeOrNull(admin, topic);
  await Promise.all(routeMasters(route).map(async (b) => {
    try {
      for (const g of await admin.topicConsumedBy(b.addr, topic)) out.add(g);
    } catch (error) {
      errors.push(`${b.brokerName}: ${errorText(error)}`);
    }
  }));
  return out;
}

/**
 * Consumed = the group's committed offset on the message's queue is past it. QUERY_CONSUMER_OFFSET
 * says "none" when the group never committed there (GET_CONSUME_STATS would show 0), so unknown.
 */
async function consumption(admin: MQAdmin, at: Located, group: string): Promise<{ state: TraceGroup['consumption']; offset: number | null }> {
  try {
    const offset = await queryConsumerOffset(admin, at.addr, group, at.m.topic, at.m.queueId);
    if (offset === null) return { state: 'unknown', offset: null };
    return { state: offset > at.m.queueOffset ? 'consumed' : 'not-yet', offset };
  } catch {
    return { state: 'unknown', offset: null };
  }
}

async function onlineClients(admin: MQAdmin, addr: string, group: string): Promise<number | null> {
  try {
    return (await admin.consumerConnection(addr, group))?.connectionSet?.length ?? 0;
  } catch {
    return null;
  }
}

function ev(partial: Partial<TraceEvent> & Pick<TraceEvent, 'kind' | 'status' | 'source'>): TraceEvent {
  return { at: null, group: null, topic: null, msgId: null, host: null, costMs: null, reconsumeTimes: null, detail: null, ...partial };
}

/** Builds one message's trace. */
export async function buildTrace(ctx: HandlerContext, connectionId: string, at: Located): Promise<MessageTrace> {
  const admin = ctx.connections.get(connectionId).admin;
  const errors: string[] = [];
  const m = at.m;
  const ids = originIds(m);
  const waitingIn = m.topic === SCHEDULE_TOPIC ? 'delay' : m.topic === HALF_TOPIC ? 'half' : null;
  const realTopic = waitingIn ? m.properties['REAL_TOPIC'] ?? m.topic : m.topic;

  const [{ records, topic: traceTopic }, consumedBy, resends] = await Promise.all([
    traceRecords(admin, ids, errors),
    isRetryOrDlq(realTopic) ? Promise.resolve(new Set<string>()) : groupsOf(admin, realTopic, errors),
    ctx.ops.resendIndex.recordsFor(ids).catch(() => [] as ResendRecord[]),
  ]);
  for (const r of records) if (r.type === 'SubBefore' && r.groupName && !isSystemGroup(r.groupName)) consumedBy.add(r.groupName);
  const groupNames = [...consumedBy].filter((g) => !isSystemGroup(g)).sort();

  const pub = records.find((r): r is Extract<TraceRecord, { type: 'Pub' }> => r.type === 'Pub');
  const producerGroup = pub?.groupName ?? m.properties['PGROUP'] ?? null;
  const events: TraceEvent[] = [];
  events.push(ev({ at: m.bornTimestamp, kind: 'produced', status: 'done', source: 'broker', host: m.bornHost, topic: realTopic,
    msgId: m.properties['UNIQ_KEY'] ?? m.msgId, group: producerGroup }));
  if (waitingIn === 'delay') {
    events.push(ev({ at: m.storeTimestamp, kind: 'stored', status: 'pending', source: 'broker', topic: SCHEDULE_TOPIC, msgId: m.msgId, host: m.storeHost,
      detail: `delay level ${m.properties['DELAY'] ?? '?'}` }));
  } else if (waitingIn === 'half') {
    events.push(ev({ at: m.storeTimestamp, kind: 'stored', status: 'pending', source: 'broker', topic: HALF_TOPIC, msgId: m.msgId, host: m.storeHost,
      detail: 'half message: waiting for commit or rollback' }));
  } else {
    events.push(ev({ at: m.storeTimestamp, kind: 'stored', status: 'done', source: 'broker', topic: m.topic, msgId: m.msgId, host: m.storeHost,
      detail: `${at.brokerName} / ${m.queueId} @ ${m.queueOffset}` }));
  }
  for (const r of records) {
    if (r.type === 'Pub') {
      events.push(ev({ at: r.timeStamp, kind: 'client-pub', status: r.success ? 'done' : 'failed', source: 'client-trace', group: r.groupName,
        topic: r.topic, msgId: r.msgId, host: r.clientHost ?? r.storeHost, costMs: r.costTime }));
    } else if (r.type === 'EndTransaction') {
      events.push(ev({ at: r.timeStamp, kind: 'end-transaction', status: r.transactionState === 'UNKNOW' ? 'pending' : 'done', source: 'client-trace',
        group: r.groupName, topic: r.topic, msgId: r.msgId, detail: `${r.transactionState}${r.fromTransactionCheck ? ' (check)' : ''}` }));
    }
  }

  const groups: TraceGroup[] = [];
  for (const group of groupNames) {
    const before = records.filter((r): r is Extract<TraceRecord, { type: 'SubBefore' }> => r.type === 'SubBefore' && r.groupName === group);
    const after = new Map(records.filter((r): r is Extract<TraceRecord, { type: 'SubAfter' }> => r.type === 'SubAfter').map((r) => [r.requestId, r]));
    for (const b of before) {
      events.push(ev({ at: b.timeStamp, kind: 'delivered', status: 'done', source: 'client-trace', group, msgId: b.msgId, reconsumeTimes: b.retryTimes }));
      const a = after.get(b.requestId);
      if (a) {
        events.push(ev({ at: a.timeStamp ?? b.timeStamp + a.costTime, kind: a.success ? 'consumed' : 'consume-failed', status: a.success ? 'done' : 'failed',
          source: 'client-trace', group, msgId: a.msgId, costMs: a.costTime, reconsumeTimes: b.retryTimes,
          detail: a.success ? null : ['SUCCESS', 'TIME_OUT', 'EXCEPTION', 'RETURNNULL', 'FAILED'][a.contextCode ?? 4] ?? null }));
      }
    }
    const [use, clients, retries, dlq] = await Promise.all([
      waitingIn ? Promise.resolve({ state: 'not-yet' as const, offset: null }) : consumption(admin, at, group),
      onlineClients(admin, at.addr, group),
      findCopies(admin, m, retryTopicOf(group), errors),
      findCopies(admin, m, dlqTopicOf(group), errors),
    ]);
    for (const c of retries.copies) {
      events.push(ev({ at: c.m.storeTimestamp, kind: 'retry', status: 'done', source: 'broker', group, topic: c.m.topic, msgId: c.m.msgId,
        reconsumeTimes: c.m.reconsumeTimes, detail: `${c.brokerName} / ${c.m.queueId} @ ${c.m.queueOffset}` }));
    }
    for (const c of dlq.copies) {
      events.push(ev({ at: c.m.storeTimestamp, kind: 'dlq', status: 'done', source: 'broker', group, topic: c.m.topic, msgId: c.m.msgId,
        reconsumeTimes: c.m.reconsumeTimes, detail: `${c.brokerName} / ${c.m.queueId} @ ${c.m.queueOffset}` }));
    }
    if (dlq.copies.length === 0) {
      events.push(ev({ kind: 'dlq', group, source: 'broker', topic: dlqTopicOf(group),
        status: dlq.search === 'scan-partial' ? 'unknown' : 'absent' }));
    }
    const last = [...before].sort((x, y) => y.timeStamp - x.timeStamp)[0];
    events.push(ev({
      at: null, kind: 'offset', group, source: 'broker', topic: realTopic,
      status: use.state === 'consumed' ? 'done' : use.state === 'not-yet' ? 'pending' : 'unknown',
      detail: use.offset !== null ? `committed offset ${use.offset} / message at ${m.queueOffset}` : null,
      reconsumeTimes: last?.retryTimes ?? null,
    }));
    groups.push({
      group, consumption: use.state, consumerOffset: use.offset, onlineClients: clients,
      retries: retries.copies.map((c) => toRow(c.m, c.brokerName)), dlq: dlq.copies.map((c) => toRow(c.m, c.brokerName)),
      copiesSearch: retries.search === 'scan-partial' || dlq.search === 'scan-partial' ? 'scan-partial'
        : retries.search === 'no-topic' && dlq.search === 'no-topic' ? 'no-topic' : retries.search === 'scan' ? 'scan' : 'index',
      clientRecords: before.length,
    });
  }
  for (const r of resends) {
    events.push(ev({ at: r.at, kind: 'resend', status: r.newMsgId ? 'done' : 'failed', source: 'console', group: r.group, topic: r.targetTopic,
      msgId: r.newUniqKey ?? r.newMsgId, detail: r.jobId ? `job ${r.jobId}` : null }));
  }
  // Known times in order; unknown-time facts (a group's offset, an absent DLQ copy) after them, per group.
  events.sort((a, b) => (a.at === null ? 1 : 0) - (b.at === null ? 1 : 0) || (a.at ?? 0) - (b.at ?? 0));
  return {
    message: toDetail(m, at.brokerName), producerGroup, groups, records, resends, events, traceTopic, errors: errors.slice(0, 20),
  };
}

/** The message(s) an id names: UNIQ_KEY in the topic (or waiting as delayed / half), or an offset id. */
async function locateById(ctx: HandlerContext, connectionId: string, msgId: string, topic: string | undefined): Promise<{ found: Located[]; via: 'uniqueKey' | 'offsetId' }> {
  const admin = ctx.connections.get(connectionId).admin;
  const errors: string[] = [];
  let t = topic;
  if (!t) {
    // No topic: client trace records name it (a Pub record carries the topic). A UNIQ_KEY and an
    // offset id look alike (32 hex digits), so this is tried for both.
    const { records } = await traceRecords(admin, [msgId], errors);
    t = records.find((r) => r.type === 'Pub')?.topic;
  }
  if (t) {
    const found = await queryAcross(admin, t, msgId, true, errors);
    if (found.length > 0) return { found, via: 'uniqueKey' };
    for (const waiting of [SCHEDULE_TOPIC, HALF_TOPIC]) {
      const hits = (await queryAcross(admin, waiting, msgId, true, errors)).filter((h) => h.m.properties['REAL_TOPIC'] === t);
      if (hits.length > 0) return { found: hits.slice(-1), via: 'uniqueKey' };
    }
  }
  if (OFFSET_ID.test(msgId)) {
    try {
      const at = await viewByOffsetId(admin, msgId.toUpperCase());
      if (!topic || at.m.topic === topic) return { found: [at], via: 'offsetId' };
    } catch (error) {
      if (!(error instanceof ConsoleError && error.code === 'NOT_FOUND')) throw error;
    }
  }
  throw new ConsoleError('NOT_FOUND', t
    ? `No message with id "${msgId}" in topic "${t}"`
    : `No message with offset id "${msgId}"; give the topic to search by unique key`);
}

export const traceById: Handler<'trace:by-id'> = async (req, ctx) => {
  const { found, via } = await locateById(ctx, req.connectionId, req.msgId, req.topic);
  const traces = await Promise.all(found.slice(0, 3).map((at) => buildTrace(ctx, req.connectionId, at)));
  return { traces, matched: found.length, via };
};

export const traceByKey: Handler<'trace:by-key'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const errors: string[] = [];
  const route = await routeOrNull(admin, req.topic);
  if (!route) throw new ConsoleError('NOT_FOUND', `Topic "${req.topic}" does not exist`);
  const found = (await queryAcross(admin, req.topic, req.key, false, errors, 64, route)).sort((a, b) => b.m.storeTimestamp - a.m.storeTimestamp);
  if (found.length === 0) {
    throw new ConsoleError('NOT_FOUND', `No message with key "${req.key}" in topic "${req.topic}"${errors.length ? ` (${errors[0]})` : ''}`);
  }
  const traces = await Promise.all(found.slice(0, req.maxMessages).map((at) => buildTrace(ctx, req.connectionId, at)));
  return { traces, matched: found.length, via: 'key' };
};

