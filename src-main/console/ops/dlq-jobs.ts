/**
 * The two jobs behind the dead-letter page: resend (SEND_MESSAGE_V2 of a copy to the original
 * topic or the group's retry topic, rate-limited, a receipt per message — the receipts are also the
 * record traces read, see resend-index.ts — never the same dead letter twice in one job) and export (JSON Lines or CSV, streamed through a SafeFileWriter with flat memory).
 */
import path from 'node:path';
import type { MQAdmin } from '../../remoting/admin/mq-admin.js';
import { randomBytes } from 'node:crypto';
import { errorText } from '../cluster-view.js';
import type { JobHandle } from './jobs.js';
import type { OpsServices } from './ops-services.js';
import { csvRow } from './csv.js';
import { SafeFileWriter } from './safe-file.js';
import { EXPORT_COLUMNS, copySysFlag, exportRecordCells, originIdOf, resendCopy, toExportRecord } from './message-copy.js';
import { InFlight, RateLimiter, TopicSender } from './cluster-ops.js';
import { iterateSelection, type DlqSelectionInput } from './dlq-scan.js';

export const RESEND_PRODUCER_GROUP = 'MQDESK_RESEND_PRODUCER';
const SENDS_IN_FLIGHT = 32;

export interface ResendJobSpec {
  connectionId: string;
  admin: MQAdmin;
  group: string;
  selection: DlqSelectionInput;
  target: 'origin' | 'retry';
  ratePerSecond: number;
}

export async function runResend(job: JobHandle, spec: ResendJobSpec, ops: OpsServices): Promise<void> {
  const sender = new TopicSender(spec.admin, RESEND_PRODUCER_GROUP);
  const limiter = new RateLimiter(spec.ratePerSecond);
  const pool = new InFlight(SENDS_IN_FLIGHT);
  /** Dead letters this job has handled: a second occurrence in the selection is skipped. */
  const handled = new Set<string>();
  const info = job.info;
  for await (const item of iterateSelection(spec.admin, spec.group, spec.selection, job.signal, ops.jobs)) {
    if (job.signal.aborted) break;
    if ('error' in item) {
      job.receipt({ sourceMsgId: item.sourceMsgId, originMsgId: null, uniqKey: null, targetTopic: null, status: 'failed', newMsgId: null, newUniqKey: null, reason: item.error });
      job.update({ done: info.done + 1, failed: info.failed + 1 });
      continue;
    }
    const { m } = item;
    if (handled.has(m.msgId)) {
      job.receipt({ sourceMsgId: m.msgId, originMsgId: originIdOf(m), uniqKey: m.properties['UNIQ_KEY'] ?? null, targetTopic: null,
        status: 'skipped', newMsgId: null, newUniqKey: null, reason: 'already resent by this job' });
      job.update({ skipped: info.skipped + 1 });
      continue;
    }
    handled.add(m.msgId);
    const copy = resendCopy(m, spec.target, spec.group);
    if (!copy) {
      job.receipt({ sourceMsgId: m.msgId, originMsgId: originIdOf(m), uniqKey: m.properties['UNIQ_KEY'] ?? null, targetTopic: null,
        status: 'failed', newMsgId: null, newUniqKey: null, reason: 'the original topic is unknown (no RETRY_TOPIC): resend it to the retry topic' });
      job.update({ done: info.done + 1, failed: info.failed + 1 });
      continue;
    }
    await limiter.take(job.signal);
    if (job.signal.aborted) break;
    await pool.run(async () => {
      try {
        const sent = await sender.send({ topic: copy.topic, properties: copy.properties, body: m.body, flag: m.flag, sysFlag: copySysFlag(m.sysFlag) });
        job.receipt({ sourceMsgId: m.msgId, originMsgId: originIdOf(m), uniqKey: m.properties['UNIQ_KEY'] ?? null, targetTopic: copy.topic,
          status: 'sent', newMsgId: sent.msgId, newUniqKey: copy.uniqKey, reason: null });
        job.update({ done: info.done + 1, succeeded: info.succeeded + 1 });
      } catch (error) {
        job.receipt({ sourceMsgId: m.msgId, originMsgId: originIdOf(m), uniqKey: m.properties['UNIQ_KEY'] ?? null, targetTopic: copy.topic,
          status: 'failed', newMsgId: null, newUniqKey: null, reason: errorText(error) });
        job.update({ done: info.done + 1, failed: info.failed + 1 });
      }
    });
  }
  await pool.drain();
  if (info.total === null || job.signal.aborted) job.update({ total: info.done });
}

export interface ExportTarget {
  /** Where the file goes (the dialog's choice, or the console's exports folder). */
  path: string;
  fileName: string;
  /** Headless: served at /exports/<job id> once done. */
  download: boolean;
}

export interface ExportJobSpec {
  admin: MQAdmin;
  group: string;
  selection: DlqSelectionInput;
  format: 'jsonl' | 'csv';
  bodyEncoding: 'text' | 'base64';
}

/** Browser exports live in the console's exports folder, named by job id. */
export function browserExportPath(exportDir: string, jobId: string, format: 'jsonl' | 'csv'): string {
  return path.join(exportDir, `${jobId}.${format}`);
}

export async function runExport(job: JobHandle, spec: ExportJobSpec, target: (jobId: string) => ExportTarget, ops: OpsServices): Promise<void> {
  const t = target(job.info.id);
  const writer = new SafeFileWriter(t.path);
  job.update({ fileName: t.fileName });
  const info = job.info;
  try {
    if (spec.format === 'csv') await writer.write(csvRow([...EXPORT_COLUMNS]));
    let lastBytes = 0;
    for await (const item of iterateSelection(spec.admin, spec.group, spec.selection, job.signal, ops.jobs)) {
      if (job.signal.aborted) break;
      if ('error' in item) {
        job.update({ done: info.done + 1, failed: info.failed + 1 });
        continue;
      }
      const record = toExportRecord(item.m, item.brokerName, spec.bodyEncoding);
      await writer.write(spec.format === 'csv' ? csvRow(exportRecordCells(record)) : `${JSON.stringify(record)}\n`);
      info.done++;
      info.succeeded++;
      if (writer.bytes - lastBytes > 256 * 1024 || info.done % 500 === 0) {
        lastBytes = writer.bytes;
        job.update({ bytes: writer.bytes });
      }
    }
    if (job.signal.aborted) {
      await writer.abort();
      return;
    }
    await writer.commit();
    job.update({
      bytes: writer.bytes, total: info.done,
      downloadUrl: t.download ? `/exports/${info.id}` : null,
      savedTo: t.download ? null : t.path,
    });
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** A receipts file as JSON Lines or CSV. */
export async function runReceiptsExport(job: JobHandle, sourceJobId: string, format: 'jsonl' | 'csv', target: (jobId: string) => ExportTarget,
  ops: OpsServices): Promise<void> {
  const t = target(job.info.id);
  const writer = new SafeFileWriter(t.path);
  job.update({ fileName: t.fileName });
  const columns = ['seq', 'at', 'status', 'sourceMsgId', 'originMsgId', 'uniqKey', 'targetTopic', 'newMsgId', 'newUniqKey', 'reason'] as const;
  try {
    if (format === 'csv') await writer.write(csvRow([...columns]));
    for await (const r of ops.jobs.receipts(sourceJobId)) {
      if (job.signal.aborted) break;
      await writer.write(format === 'csv' ? csvRow(columns.map((c) => r[c])) : `${JSON.stringify(r)}\n`);
      job.info.done++;
      job.info.succeeded++;
    }
    if (job.signal.aborted) {
      await writer.abort();
      return;
    }
    await writer.commit();
    job.update({ bytes: writer.bytes, total: job.info.done, downloadUrl: t.download ? `/exports/${job.info.id}` : null, savedTo: t.download ? null : t.path });
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

export function exportStamp(now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

export const newResendId = (): string => `r${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
