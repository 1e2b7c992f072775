/**
 * dlq:groups / dlq:list / dlq:view / dlq:resend-preview / dlq:resend / dlq:export, and
 * message:resend (one message from anywhere: the stuck-queue finder, a trace). Dead letters are
 * read from %DLQ%<group> by pulling (TOOLS_CONSUMER); resends are new messages produced with
 * SEND_MESSAGE_V2, so they work with no consumer of the group online and on any RocketMQ cluster.
 */
import path from 'node:path';
import { ConsoleError } from '../contract/errors.js';
import type { CountBy, DlqGroupInfo, DlqRow } from '../contract/ops-dto.js';
import type { Handler, HandlerContext } from '../dispatch.js';
import { Budget, errorText, toDetail, toRow } from '../cluster-view.js';
import type { MessageExt } from '../../broker/store/message-codec.js';
import { dlqRanges, dlqFilterMatcher, iterateSelection, type DlqSelectionInput } from '../ops/dlq-scan.js';
import { copySysFlag, dlqTopicOf, originIdOf, originTopicOf, resendCopy, retryTopicOf } from '../ops/message-copy.js';
import { pullPages, routeMasters, routeOrNull, TopicSender, viewByOffsetId } from '../ops/cluster-ops.js';
import {
  browserExportPath, exportStamp, newResendId, RESEND_PRODUCER_GROUP, runExport, runResend, type ExportTarget,
} from '../ops/dlq-jobs.js';
import { sanitizeFileName } from '../ops/safe-file.js';

const PREVIEW_SAMPLE = 20;
const PREVIEW_MAX_SCAN = 500_000;

function toDlqRow(m: MessageExt, brokerName: string, resent: number): DlqRow {
  return { ...toRow(m, brokerName), originTopic: originTopicOf(m), originMsgId: m.properties['ORIGIN_MESSAGE_ID'] ?? null, resent };
}

function resentCounts(ctx: HandlerContext, msgIds: string[]): Promise<Map<string, number>> {
  return ctx.ops.resendIndex.counts(msgIds);
}

function countBy(map: Map<string | null, number>): CountBy[] {
  return [...map.entries()].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
}

export const dlqGroups: Handler<'dlq:groups'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const topics = (await admin.topicList()).filter((t) => t.startsWith('%DLQ%')).sort();
  return Promise.all(topics.map(async (topic): Promise<DlqGroupInfo> => {
    const route = await routeOrNull(admin, topic).catch(() => null);
    const brokers = routeMasters(route);
    let messages: number | null = 0;
    for (const b of brokers) {
      for (let q = 0; q < b.readQueueNums; q++) {
        try {
          const [min, max] = await Promise.all([admin.minOffset(b.addr, topic, q), admin.maxOffset(b.addr, topic, q)]);
          if (messages !== null) messages += Math.max(0, max - min);
        } catch {
          messages = null;
        }
      }
    }
    return { group: topic.slice('%DLQ%'.length), topic, brokers: brokers.map((b) => b.brokerName), messages: brokers.length > 0 ? messages : null };
  }));
};

export const dlqList: Handler<'dlq:list'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const errors: string[] = [];
  const topic = dlqTopicOf(req.group);
  const { exists, ranges } = await dlqRanges(admin, req.group, req.filter, errors);
  const total = ranges.reduce((s, r) => s + Math.max(0, r.max - r.min), 0);
  const matches = dlqFilterMatcher(req.filter);
  const budget = new Budget(req.maxScan, req.maxMs);
  const byOrigin = new Map<string | null, number>();
  const byTag = new Map<string | null, number>();
  const found: Array<{ m: MessageExt; brokerName: string }> = [];
  let matched = 0;
  let unfinished = false;
  outer: for (const r of ranges) {
    if (r.to <= r.from) continue;
    try {
      for await (const page of pullPages(admin, r.broker.addr, topic, r.queueId, r.from, r.to)) {
        for (const m of page) {
          budget.rows++;
          if (!matches(m)) continue;
          matched++;
          const origin = originTopicOf(m);
          byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + 1);
          const tag = m.properties['TAGS'] ?? null;
          byTag.set(tag, (byTag.get(tag) ?? 0) + 1);
          if (found.length < req.limit) found.push({ m, brokerName: r.broker.brokerName });
        }
        if (!budget.ok()) {
          unfinished = page[page.length - 1]!.queueOffset + 1 < r.to || ranges.indexOf(r) < ranges.length - 1;
          break outer;
        }
      }
    } catch (error) {
      errors.push(`${r.broker.brokerName}/${r.queueId}: ${errorText(error)}`);
    }
  }
  const counts = await resentCounts(ctx, found.map((f) => f.m.msgId));
  const messages = found.map((f) => toDlqRow(f.m, f.brokerName, counts.get(f.m.msgId) ?? 0))
    .sort((a, b) => b.storeTimestamp - a.storeTimestamp);
  return {
    group: req.group, topic, exists, messages, total, scanned: budget.rows, matched,
    byOriginTopic: countBy(byOrigin), byTag: countBy(byTag),
    partial: unfinished || errors.length > 0, stoppedBy: unfinished ? budget.stoppedBy : null, errors: errors.slice(0, 20),
  };
};

export const dlqView: Handler<'dlq:view'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const found = await viewByOffsetId(admin, req.msgId.toUpperCase());
  if (found.m.topic !== dlqTopicOf(req.group)) throw new ConsoleError('NOT_FOUND', `${req.msgId} is not a dead letter of ${req.group}`);
  return toDetail(found.m, found.brokerName);
};

/** The canonical form of what a preview covered; the token binds the resend to it. */
function previewSubject(connectionId: string, group: string, selection: DlqSelectionInput, target: string): string {
  const sel = selection.kind === 'ids' ? { kind: 'ids', msgIds: [...selection.msgIds].map((x) => x.toUpperCase()).sort() }
    : selection.kind === 'filter' ? { kind: 'filter', filter: Object.fromEntries(Object.entries(selection.filter).filter(([, v]) => v !== undefined).sort()) }
      : selection;
  return JSON.stringify([connectionId, group, sel, target]);
}

export const dlqResendPreview: Handler<'dlq:resend-preview'> = async (req, ctx) => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const signal = { aborted: false };
  const byTarget = new Map<string | null, number>();
  const sample: DlqRow[] = [];
  const seen = new Set<string>();
  let matched = 0;
  let noOrigin = 0;
  let scanned = 0;
  let partial = false;
  for await (const item of iterateSelection(admin, req.group, req.selection, signal, ctx.ops.jobs)) {
    if (++scanned > PREVIEW_MAX_SCAN) {
      partial = true;
      break;
    }
    if ('error' in item) continue;
    if (seen.has(item.m.msgId)) continue;
    seen.add(item.m.msgId);
    matched++;
    const origin = originTopicOf(item.m);
    if (!origin) noOrigin++;
    const targetTopic = req.target === 'retry' ? retryTopicOf(req.group) : origin;
    byTarget.set(targetTopic, (byTarget.get(targetTopic) ?? 0) + 1);
    if (sample.length < PREVIEW_SAMPLE) sample.push(toDlqRow(item.m, item.brokerName, 0));
  }
  const counts = await resentCounts(ctx, sample.map((s) => s.msgId));
  for (const s of sample) s.resent = counts.get(s.msgId) ?? 0;
  const { token, expiresAt } = ctx.ops.issuePreview(previewSubject(req.connectionId, req.group, req.selection, req.target), matched, partial);
  return { matched, byTarget: countBy(byTarget), noOrigin, sample, partial, previewToken: token, expiresAt };
};

export const dlqResend: Handler<'dlq:resend'> = (req, ctx) => ctx.ops.jobs.once(req.requestId, async () => {
  const preview = ctx.ops.checkPreview(previewSubject(req.connectionId, req.group, req.selection, req.target), req.previewToken);
  if (!preview) throw new ConsoleError('CONFLICT', 'Preview the resend first (the preview token is missing, expired or for another selection)');
  const admin = ctx.connections.get(req.connectionId).admin;
  return ctx.ops.jobs.start({
    kind: 'dlq-resend', connectionId: req.connectionId, group: req.group, requestId: req.requestId, rateLimit: req.ratePerSecond,
    target: req.target === 'retry' ? retryTopicOf(req.group) : 'origin', format: null,
    total: preview.partial ? null : preview.matched, withReceipts: true,
  }, (job) => runResend(job, {
    connectionId: req.connectionId, admin, group: req.group, selection: req.selection, target: req.target, ratePerSecond: req.ratePerSecond,
  }, ctx.ops));
});

/** Where an export goes: the desktop's save dialog, else the console's exports folder for a download. */
export async function exportTarget(ctx: HandlerContext, suggested: string, format: 'jsonl' | 'csv'): Promise<(jobId: string) => ExportTarget> {
  const fileName = sanitizeFileName(suggested);
  if (ctx.ops.pickExportPath) {
    const chosen = await ctx.ops.pickExportPath(fileName, format);
    if (!chosen) throw new ConsoleError('CONFLICT', 'The save dialog was cancelled; nothing was exported');
    return () => ({ path: chosen, fileName: path.basename(chosen), download: false });
  }
  return (jobId) => ({ path: browserExportPath(ctx.ops.jobs.exportDir, jobId, format), fileName, download: true });
}

export const dlqExport: Handler<'dlq:export'> = (req, ctx) => ctx.ops.jobs.once(req.requestId, async () => {
  const admin = ctx.connections.get(req.connectionId).admin;
  const target = await exportTarget(ctx, `dlq-${req.group}-${exportStamp()}.${req.format}`, req.format);
  return ctx.ops.jobs.start({
    kind: 'dlq-export', connectionId: req.connectionId, group: req.group, requestId: req.requestId, rateLimit: null, target: null,
    format: req.format, total: null, withReceipts: false,
  }, (job) => runExport(job, { admin, group: req.group, selection: req.selection, format: req.format, bodyEncoding: req.bodyEncoding }, target, ctx.ops));
});

type ResendOne = Awaited<ReturnType<Handler<'message:resend'>>>;
/** requestId → the resend it made (or is making): a double click sends once. */
const oneShot = new Map<string, Promise<ResendOne>>();

export const messageResend: Handler<'message:resend'> = (req, ctx) => {
  const earlier = oneShot.get(req.requestId);
  if (earlier) return earlier;
  const p = resendOne(req, ctx);
  oneShot.set(req.requestId, p);
  p.catch(() => oneShot.delete(req.requestId));
  if (oneShot.size > 1000) oneShot.delete(oneShot.keys().next().value!);
  return p;
};

async function resendOne(req: Parameters<Handler<'message:resend'>>[0], ctx: HandlerContext): Promise<ResendOne> {
  const admin = ctx.connections.get(req.connectionId).admin;
  const found = await viewByOffsetId(admin, req.msgId.toUpperCase());
  const copy = resendCopy(found.m, req.target, req.group ?? null);
  if (!copy) throw new ConsoleError('BAD_REQUEST', 'The original topic of this message is unknown; resend it to the group\'s retry topic');
  const sender = new TopicSender(admin, RESEND_PRODUCER_GROUP);
  let sent;
  try {
    sent = await sender.send({ topic: copy.topic, properties: copy.properties, body: found.m.body, flag: found.m.flag, sysFlag: copySysFlag(found.m.sysFlag) });
  } catch (error) {
    await ctx.ops.recordAudit({ action: 'message-resend', connectionId: req.connectionId, target: found.m.msgId, detail: `to ${copy.topic}`, result: 'failed', error: errorText(error) });
    throw error;
  }
  const resendId = newResendId();
  await ctx.ops.recordResends([{
    id: resendId, at: Date.now(), jobId: null, connectionId: req.connectionId, group: req.group ?? null, sourceMsgId: found.m.msgId,
    originMsgId: originIdOf(found.m), originUniqKey: found.m.properties['UNIQ_KEY'] ?? null, targetTopic: copy.topic, newMsgId: sent.msgId,
    newUniqKey: copy.uniqKey,
  }]);
  await ctx.ops.recordAudit({ action: 'message-resend', connectionId: req.connectionId, target: found.m.msgId,
    detail: `to ${copy.topic} as ${sent.msgId ?? copy.uniqKey}`, result: 'ok', error: null });
  return { targetTopic: copy.topic, newMsgId: sent.msgId, newUniqKey: copy.uniqKey, resendId };
}
