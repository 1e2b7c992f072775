/**
 * Dead letters through the console against a real embedded cluster (loopback TCP only): a DLQ
 * filled by a failing ali-ons consumer (CONSUMER_SEND_MSG_BACK, short delay levels), listed with
 * filters and counts; 3 messages resent one by one and the rest in bulk after a dry-run preview,
 * double clicks returning the same job, then a fixed consumer of the group receives each message
 * exactly once; receipts; failures re-run only; export of 10,000 DLQ messages (produced directly
 * into %DLQ%<group> with RETRY_TOPIC / ORIGIN_MESSAGE_ID, as a broker's DLQ holds them) to JSON
 * Lines and CSV, parsed back and compared; the desktop save-dialog path; trace of a dead letter.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../src-main/console/service.js';
import type { DlqRow, Receipt } from '../../../src-main/console/contract/ops-dto.js';
import type { ExportRecord } from '../../../src-main/console/ops/message-copy.js';
import { EXPORT_COLUMNS } from '../../../src-main/console/ops/message-copy.js';
import { parseCsv, unguardCell } from '../../../src-main/console/ops/csv.js';
import { waitFor } from '../../harness/temp-dir.js';
import { createConsumer, createMessage, createProducer, type OnsMessage } from '../../harness/ali-ons.js';
import { produce, startOpsEnv, uniqKey, waitRoute, type OpsEnv } from './ops-env.js';

const requireCjs = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ACTION_RETRY = (requireCjs('ali-ons') as { Consumer: { ACTION_RETRY: symbol } }).Consumer.ACTION_RETRY;
const SHORT_LEVELS = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800];

const TOPIC = 'OpsDlqTopic';
const GROUP = 'GID_OPS_DLQ';
const FAILED = 10;

let env: OpsEnv;

beforeAll(async () => {
  env = await startOpsEnv('ops-dlq', { brokerOverrides: { delayLevelsMs: SHORT_LEVELS } });
  await env.ok('topic:create', { topic: TOPIC, readQueueNums: 2, writeQueueNums: 2 });
  await env.ok('group:create', { group: GROUP, retryMaxTimes: 1 });
  await waitRoute(env.admin, TOPIC);
}, 60_000);

afterAll(async () => {
  await env?.stop();
}, 60_000);

async function previewAndResend(selection: { kind: 'ids'; msgIds: string[] } | { kind: 'filter'; filter: Record<string, unknown> } | { kind: 'failed-of'; jobId: string },
  target: 'origin' | 'retry', requestId: string) {
  const preview = await env.ok('dlq:resend-preview', { group: GROUP, selection, target });
  return { preview, job: await env.ok('dlq:resend', { group: GROUP, selection, target, requestId, previewToken: preview.previewToken, ratePerSecond: 1000 }) };
}

describe('a DLQ filled by a failing consumer, resent, consumed exactly once', () => {
  const sentBodies: string[] = [];
  let dlqRows: DlqRow[] = [];

  it('the failing consumer sends every message back until it lands in %DLQ%', async () => {
    const failing = env.track(createConsumer(env.cluster.namesrvAddr, GROUP, 'ops-dlq-failing', {
      maxReconsumeTimes: 1, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000,
    }));
    failing.on('error', () => undefined);
    failing.subscribe(TOPIC, '*', async (msg: OnsMessage) => {
      if (msg.reconsumeTimes === 0) return ACTION_RETRY;
      throw new Error('still failing');
    });
    await failing.ready();
    const table = (failing as unknown as { _processQueueTable: Map<string, unknown> })._processQueueTable;
    await waitFor(() => [...table.keys()].filter((k) => k.includes(`%RETRY%${GROUP}`)).length >= 1
      && [...table.keys()].filter((k) => k.includes(`"${TOPIC}"`)).length === 4, 20_000, 'consumer pulling topic and retry queues');

    const producer = env.track(createProducer(env.cluster.namesrvAddr, 'PID_OPS_DLQ', 'ops-dlq-producer'));
    await producer.ready();
    for (let i = 0; i < FAILED; i++) {
      const body = `dlq-body-${i}`;
      const msg = createMessage(TOPIC, i % 2 === 0 ? 'TagEven' : 'TagOdd', body, [`order-${i}`]);
      msg.properties.UNIQ_KEY = uniqKey();
      await producer.send(msg);
      sentBodies.push(body);
    }
    await waitFor(async () => (await env.ok('dlq:groups', {})).find((g) => g.group === GROUP)?.messages === FAILED, 45_000, `${FAILED} dead letters`);
    await failing.close();
  }, 90_000);

  it('dlq:list shows them with their original topic, counts by topic and tag, and filters', async () => {
    const all = await env.ok('dlq:list', { group: GROUP });
    expect(all.exists).toBe(true);
    expect(all.total).toBe(FAILED);
    expect(all.matched).toBe(FAILED);
    expect(all.partial).toBe(false);
    expect(all.byOriginTopic).toEqual([{ value: TOPIC, count: FAILED }]);
    expect(all.byTag.map((t) => [t.value, t.count]).sort()).toEqual([['TagEven', 5], ['TagOdd', 5]]);
    expect(new Set(all.messages.map((m) => m.preview))).toEqual(new Set(sentBodies));
    for (const m of all.messages) {
      expect(m.topic).toBe(`%DLQ%${GROUP}`);
      expect(m.originTopic).toBe(TOPIC);
      expect(m.originMsgId).toMatch(/^[0-9A-F]{32}$/);
      expect(m.reconsumeTimes).toBeGreaterThanOrEqual(1);
      expect(m.resent).toBe(0);
    }
    dlqRows = all.messages;
    expect((await env.ok('dlq:list', { group: GROUP, filter: { tags: 'TagOdd' } })).matched).toBe(5);
    expect((await env.ok('dlq:list', { group: GROUP, filter: { key: 'order-3' } })).messages.map((m) => m.preview)).toEqual(['dlq-body-3']);
    expect((await env.ok('dlq:list', { group: GROUP, filter: { originTopic: 'Other' } })).matched).toBe(0);
    const future = Date.now() + 3600_000;
    expect((await env.ok('dlq:list', { group: GROUP, filter: { beginTime: future } })).matched).toBe(0);
    expect((await env.ok('dlq:list', { group: GROUP, filter: { beginTime: 0, endTime: future } })).matched).toBe(FAILED);
    const none = await env.ok('dlq:list', { group: 'GID_NO_DLQ' });
    expect(none).toMatchObject({ exists: false, total: 0, matched: 0, messages: [] });
    const view = await env.ok('dlq:view', { group: GROUP, msgId: dlqRows[0]!.msgId });
    expect(view.properties['RETRY_TOPIC']).toBe(TOPIC);
    expect((await env.fails('dlq:view', { group: 'GID_OTHER', msgId: dlqRows[0]!.msgId })).code).toBe('NOT_FOUND');
  });

  it('a resend needs its preview; 3 are resent one by one and a double click returns the same job', async () => {
    const bad = await env.fails('dlq:resend', {
      group: GROUP, selection: { kind: 'ids', msgIds: [dlqRows[0]!.msgId] }, requestId: 'no-preview', previewToken: 'x.y',
    });
    expect(bad.code).toBe('CONFLICT');
    // A token for another selection does not fit.
    const p = await env.ok('dlq:resend-preview', { group: GROUP, selection: { kind: 'ids', msgIds: [dlqRows[0]!.msgId] } });
    expect((await env.fails('dlq:resend', {
      group: GROUP, selection: { kind: 'ids', msgIds: [dlqRows[1]!.msgId] }, requestId: 'wrong-token', previewToken: p.previewToken,
    })).code).toBe('CONFLICT');

    for (let i = 0; i < 3; i++) {
      const selection = { kind: 'ids' as const, msgIds: [dlqRows[i]!.msgId] };
      const { preview, job } = await previewAndResend(selection, 'origin', `one-${i}`);
      expect(preview).toMatchObject({ matched: 1, byTarget: [{ value: TOPIC, count: 1 }], noOrigin: 0, partial: false });
      expect(preview.sample[0]!.msgId).toBe(dlqRows[i]!.msgId);
      // Double click: same request id → the same job, nothing sent twice.
      const again = await env.ok('dlq:resend', { group: GROUP, selection, requestId: `one-${i}`, previewToken: preview.previewToken });
      expect(again.id).toBe(job.id);
      const done = await env.waitJob(job.id);
      expect(done).toMatchObject({ state: 'done', total: 1, done: 1, succeeded: 1, failed: 0 });
    }
  });

  it('the other 7 are resent in bulk: two concurrent clicks make one job; receipts give the new ids', async () => {
    const rest = dlqRows.slice(3).map((r) => r.msgId);
    const selection = { kind: 'ids' as const, msgIds: rest };
    const preview = await env.ok('dlq:resend-preview', { group: GROUP, selection });
    expect(preview.matched).toBe(7);
    const req = { group: GROUP, selection, requestId: 'bulk-1', previewToken: preview.previewToken, ratePerSecond: 50 };
    const [a, b] = await Promise.all([env.ok('dlq:resend', req), env.ok('dlq:resend', req)]);
    expect(a.id).toBe(b.id);
    const done = await env.waitJob(a.id);
    expect(done).toMatchObject({ state: 'done', total: 7, succeeded: 7, failed: 0, rateLimit: 50 });
    expect(env.jobEvents.some((e) => e.id === a.id && e.state === 'running')).toBe(true);
    expect(env.jobEvents.some((e) => e.id === a.id && e.state === 'done')).toBe(true);
    const receipts = await env.ok('job:receipts', { jobId: a.id });
    expect(receipts.total).toBe(7);
    expect(receipts.receipts.every((r: Receipt) => r.status === 'sent' && /^[0-9A-F]{32}$/.test(r.newMsgId ?? '') && r.targetTopic === TOPIC)).toBe(true);
    expect(new Set(receipts.receipts.map((r) => r.sourceMsgId))).toEqual(new Set(rest));
    // The list now counts the resends.
    expect((await env.ok('dlq:list', { group: GROUP })).messages.every((m) => m.resent === 1)).toBe(true);
  });

  it('a fixed consumer of the group receives each resent message exactly once', async () => {
    const received: string[] = [];
    const origins: string[] = [];
    const fixed = env.track(createConsumer(env.cluster.namesrvAddr, GROUP, 'ops-dlq-fixed', {
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000,
    }));
    fixed.on('error', () => undefined);
    fixed.subscribe(TOPIC, '*', async (msg: OnsMessage) => {
      if (process.env['OPS_DEBUG']) console.log('fixed got', msg.topic, msg.reconsumeTimes, msg.body.toString(), msg.properties.MQDESK_RESENT_FROM);
      received.push(msg.body.toString());
      origins.push(msg.properties.ORIGIN_MESSAGE_ID ?? '');
    });
    await fixed.ready();
    await waitFor(() => received.length >= FAILED, 30_000, 'the fixed consumer to receive every resent message');
    await new Promise((r) => setTimeout(r, 3000));
    expect(received.sort()).toEqual([...sentBodies].sort());
    expect(new Set(origins).size).toBe(FAILED);
    await fixed.close();
  }, 60_000);

  it('failures are receipted and re-run alone: no RETRY_TOPIC fails to "origin", then goes to the retry topic', async () => {
    const orphanGroup = 'GID_OPS_ORPHAN';
    await env.ok('group:create', { group: orphanGroup });
    await env.admin.createTopic(`%DLQ%${orphanGroup}`, 1);
    await produce(env.admin, [
      { topic: `%DLQ%${orphanGroup}`, body: 'orphan-1', properties: { UNIQ_KEY: uniqKey(), KEYS: 'orphan' } },
      { topic: `%DLQ%${orphanGroup}`, body: 'with-origin', properties: { UNIQ_KEY: uniqKey(), RETRY_TOPIC: TOPIC, ORIGIN_MESSAGE_ID: 'X1' } },
    ]);
    const all = { kind: 'filter' as const, filter: {} };
    const p1 = await env.ok('dlq:resend-preview', { group: orphanGroup, selection: all });
    expect(p1).toMatchObject({ matched: 2, noOrigin: 1 });
    expect(p1.byTarget).toEqual(expect.arrayContaining([{ value: null, count: 1 }, { value: TOPIC, count: 1 }]));
    const job1 = await env.ok('dlq:resend', { group: orphanGroup, selection: all, requestId: 'orphan-1', previewToken: p1.previewToken });
    const done1 = await env.waitJob(job1.id);
    expect(done1).toMatchObject({ state: 'done', total: 2, succeeded: 1, failed: 1 });
    const failedOnly = await env.ok('job:receipts', { jobId: job1.id, onlyFailed: true });
    expect(failedOnly.receipts).toHaveLength(1);
    expect(failedOnly.receipts[0]!.reason).toMatch(/RETRY_TOPIC/);

    const rerun = { kind: 'failed-of' as const, jobId: job1.id };
    const p2 = await env.ok('dlq:resend-preview', { group: orphanGroup, selection: rerun, target: 'retry' });
    expect(p2).toMatchObject({ matched: 1, byTarget: [{ value: `%RETRY%${orphanGroup}`, count: 1 }] });
    const job2 = await env.ok('dlq:resend', { group: orphanGroup, selection: rerun, target: 'retry', requestId: 'orphan-2', previewToken: p2.previewToken });
    expect(await env.waitJob(job2.id)).toMatchObject({ state: 'done', total: 1, succeeded: 1, failed: 0 });
    const r = (await env.ok('job:receipts', { jobId: job2.id })).receipts[0]!;
    expect(r.targetTopic).toBe(`%RETRY%${orphanGroup}`);

    // The receipts export as CSV.
    const ex = await env.ok('job:receipts-export', { jobId: job1.id, format: 'csv', requestId: 'rcpt-csv' });
    const exDone = await env.waitJob(ex.id);
    const file = await env.service.exportDownload(exDone.id);
    const rows = parseCsv(readFileSync(file!.file, 'utf8'));
    expect(rows[0]).toContain('status');
    expect(rows.slice(1).map((x) => x[2]).sort()).toEqual(['failed', 'sent']);
  });

  it('trace of a dead letter\'s original shows the retry, the DLQ copy, the consumption and the resend', async () => {
    const row = dlqRows.find((r) => r.preview === 'dlq-body-0')!;
    const orig = await env.ok('message:by-key', { topic: TOPIC, key: 'order-0' });
    if (process.env['OPS_DEBUG']) console.log(orig.messages);
    expect(orig.messages).toHaveLength(2); // the original and the console's resend (same keys)
    const original = orig.messages.find((m) => m.reconsumeTimes === 0 && m.uniqKey === row.uniqKey)!;
    const t = await env.ok('trace:by-id', { topic: TOPIC, msgId: original.uniqKey! });
    expect(t.via).toBe('uniqueKey');
    const trace = t.traces[0]!;
    expect(trace.message.msgId).toBe(original.msgId);
    const g = trace.groups.find((x) => x.group === GROUP)!;
    expect(g.consumption).toBe('consumed');
    expect(g.retries.length).toBeGreaterThanOrEqual(1);
    expect(g.dlq.map((d) => d.msgId)).toEqual([row.msgId]);
    expect(g.copiesSearch).toBe('index');
    expect(trace.resends.map((r) => r.sourceMsgId)).toEqual([row.msgId]);
    const kinds = trace.events.map((e) => e.kind);
    expect(kinds.slice(0, 2)).toEqual(['produced', 'stored']);
    expect(kinds).toEqual(expect.arrayContaining(['retry', 'dlq', 'resend', 'offset']));
    // No client trace records (ali-ons sends none): delivery itself is not claimed.
    expect(trace.records).toEqual([]);
    expect(kinds).not.toContain('delivered');
    // The same by key.
    const byKey = await env.ok('trace:by-key', { topic: TOPIC, key: 'order-0' });
    expect(byKey.matched).toBe(2);
    expect(byKey.traces.map((x) => x.message.msgId)).toContain(original.msgId);
  });
});

describe('export of 10,000 dead letters', () => {
  const EXPORT_GROUP = 'GID_OPS_EXPORT';
  const COUNT = 10_000;
  const sent = new Map<string, { body: Buffer; tags: string; keys: string; origin: string }>();

  beforeAll(async () => {
    await env.ok('group:create', { group: EXPORT_GROUP });
    await env.admin.createTopic(`%DLQ%${EXPORT_GROUP}`, 1);
    const messages = [];
    for (let i = 0; i < COUNT; i++) {
      const uniq = uniqKey();
      let body: Buffer;
      if (i % 250 === 0) body = Buffer.from([0xff, 0xfe, 0x00, i & 0xff, 0x80]);
      else if (i % 100 === 0) body = Buffer.from(`=HYPERLINK("http://evil.example/${i}","click")`);
      else if (i % 77 === 0) body = Buffer.from(`line one, "quoted"\r\nline two ${i}`);
      else body = Buffer.from(JSON.stringify({ order: i, note: 'ünïcödé ✓' }));
      const tags = i % 3 === 0 ? '-minus' : `Tag${i % 5}`;
      const keys = `exp-${i} +plus${i}`;
      const origin = i % 2 === 0 ? 'ExportTopicA' : 'ExportTopicB';
      sent.set(uniq, { body, tags, keys, origin });
      messages.push({
        topic: `%DLQ%${EXPORT_GROUP}`, body,
        properties: { UNIQ_KEY: uniq, TAGS: tags, KEYS: keys, RETRY_TOPIC: origin, ORIGIN_MESSAGE_ID: uniq, DLQ_ORIGIN_TOPIC: origin, '@weird': '=1+2' },
      });
    }
    await produce(env.admin, messages, 128);
  }, 120_000);

  it('JSON Lines: every message once, bodies and properties as stored, binary bodies as base64', async () => {
    const job = await env.ok('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'filter', filter: {} }, format: 'jsonl', requestId: 'exp-jsonl' });
    expect((await env.ok('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'filter', filter: {} }, format: 'jsonl', requestId: 'exp-jsonl' })).id).toBe(job.id);
    const done = await env.waitJob(job.id, 120_000);
    expect(done).toMatchObject({ state: 'done', done: COUNT, total: COUNT, failed: 0, format: 'jsonl', downloadUrl: `/exports/${job.id}`, savedTo: null });
    expect(done.fileName).toMatch(/^dlq-GID_OPS_EXPORT-\d{8}-\d{6}\.jsonl$/);
    const file = await env.service.exportDownload(job.id);
    expect(file!.name).toBe(done.fileName);
    const lines = readFileSync(file!.file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(COUNT);
    const seen = new Set<string>();
    for (const line of lines) {
      const r = JSON.parse(line) as ExportRecord;
      const s = sent.get(r.uniqKey!)!;
      expect(s).toBeDefined();
      seen.add(r.uniqKey!);
      const body = r.bodyEncoding === 'base64' ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
      expect(body.equals(s.body)).toBe(true);
      expect(r.tags).toBe(s.tags);
      expect(r.keys).toBe(s.keys);
      expect(r.originTopic).toBe(s.origin);
      expect(r.properties['@weird']).toBe('=1+2');
      expect(r.topic).toBe(`%DLQ%${EXPORT_GROUP}`);
    }
    expect(seen.size).toBe(COUNT);
    expect(lines.filter((l) => (JSON.parse(l) as ExportRecord).bodyEncoding === 'base64')).toHaveLength(COUNT / 250);
  }, 120_000);

  it('CSV: a header and every message once; formula cells escaped; parsed back equal', async () => {
    const job = await env.ok('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'filter', filter: {} }, format: 'csv', requestId: 'exp-csv', bodyEncoding: 'base64' });
    const done = await env.waitJob(job.id, 120_000);
    expect(done).toMatchObject({ state: 'done', done: COUNT });
    const text = readFileSync((await env.service.exportDownload(job.id))!.file, 'utf8');
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(COUNT + 1);
    const col = (name: string): number => (EXPORT_COLUMNS as readonly string[]).indexOf(name);
    for (const row of rows.slice(1)) {
      for (const cell of row) expect(/^[=+\-@\t\r]/.test(cell)).toBe(false);
      const uniq = unguardCell(row[col('uniqKey')]!);
      const s = sent.get(uniq)!;
      expect(Buffer.from(unguardCell(row[col('body')]!), 'base64').equals(s.body)).toBe(true);
      expect(unguardCell(row[col('tags')]!)).toBe(s.tags);
      expect(unguardCell(row[col('keys')]!)).toBe(s.keys);
      expect(JSON.parse(unguardCell(row[col('properties')]!))['@weird']).toBe('=1+2');
    }
    expect(new Set(rows.slice(1).map((r) => r[col('uniqKey')])).size).toBe(COUNT);
  }, 120_000);

  it('a filtered export and a cancelled one (the temp file is removed, nothing downloadable)', async () => {
    const job = await env.ok('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'filter', filter: { originTopic: 'ExportTopicA', tags: 'Tag1' } }, format: 'jsonl', requestId: 'exp-filter' });
    const done = await env.waitJob(job.id);
    const expected = [...sent.values()].filter((s) => s.origin === 'ExportTopicA' && s.tags === 'Tag1').length;
    expect(done.done).toBe(expected);
    const cancelled = await env.ok('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'filter', filter: {} }, format: 'csv', requestId: 'exp-cancel' });
    const after = await env.ok('job:cancel', { jobId: cancelled.id });
    expect(after.state).toBe('cancelled');
    expect(await env.service.exportDownload(cancelled.id)).toBeNull();
  }, 60_000);

  it('desktop: the save dialog picks the path; a cancelled dialog exports nothing', async () => {
    const chosen = path.join(env.dir, 'chosen.jsonl');
    let answer: string | null = chosen;
    const desktop = await ConsoleService.create({
      dataDir: path.join(env.dir, 'desktop-console'), embeddedNamesrvAddr: env.cluster.namesrvAddr, mode: 'electron', version: '0',
      log: () => undefined, pickExportPath: async (name, format) => {
        expect(name).toMatch(new RegExp(`\\.${format}$`));
        return answer;
      },
    });
    try {
      const session = desktop.openSession(() => undefined);
      const ids = [...(await env.ok('dlq:list', { group: EXPORT_GROUP, limit: 5 })).messages.map((m) => m.msgId)];
      const r = await desktop.dispatch('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'ids', msgIds: ids }, format: 'jsonl', requestId: 'desk-1' }, session);
      expect(r.ok).toBe(true);
      const job = r.ok ? (r.result as { id: string }) : null;
      await waitFor(async () => (await desktop.ops.jobs.get(job!.id)).state !== 'running', 10_000, 'desktop export');
      expect(await desktop.ops.jobs.get(job!.id)).toMatchObject({ state: 'done', savedTo: chosen, downloadUrl: null, done: 5 });
      expect(readFileSync(chosen, 'utf8').trimEnd().split('\n')).toHaveLength(5);
      answer = null;
      const r2 = await desktop.dispatch('dlq:export', { group: EXPORT_GROUP, selection: { kind: 'ids', msgIds: ids }, format: 'csv', requestId: 'desk-2' }, session);
      expect(r2.ok ? null : r2.error.code).toBe('CONFLICT');
    } finally {
      await desktop.close();
    }
  });
});
