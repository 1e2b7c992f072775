/**
 * Browser test of the operator pages (issue 6) on the headless console: `tsx src-main/server/cli.ts`
 * on a fresh embedded cluster, driven through Debian's Chromium with playwright-core, with real
 * ali-ons clients:
 * - Dead letters: a failing consumer fills the DLQ; 3 messages are resent one by one and the rest
 *   in bulk from the page; a fixed consumer receives each exactly once; 10,000 dead letters are
 *   exported to JSON Lines and CSV as downloads that parse and match.
 * - Trace: the path of one of those messages (retry, DLQ, resend).
 * - Delay and transactions: the pages follow the broker as delayed messages are delivered and half
 *   messages are committed / rolled back from the page.
 * - Backlog: a 50,000-message backlog migrated through a temporary topic with a restart of the app
 *   (the serve process, cluster and console) in the middle, ending with every message forwarded
 *   exactly once and received once by a consumer of the temporary group.
 * - Overview badges link to the pages. Screenshots of every page, light/dark × en/zh-CN, go to
 *   /tmp/ops-*.png.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir, waitFor } from '../harness/temp-dir.js';
import { createConsumer, createMessage, createProducer, type OnsConsumer, type OnsMessage, type OnsProducer } from '../harness/ali-ons.js';
import { createAdmin } from '../../src-main/console/connection.js';
import type { MQAdmin } from '../../src-main/remoting/admin/mq-admin.js';
import { encodeProperties, MessageSysFlag } from '../../src-main/broker/store/message-codec.js';
import { RequestCode } from '../../src-main/remoting/request-code.js';
import { parseCsv, unguardCell } from '../../src-main/console/ops/csv.js';
import { EXPORT_COLUMNS, type ExportRecord } from '../../src-main/console/ops/message-copy.js';
import type { JobInfo, MigrationJob } from '../../src-main/console/contract/ops-dto.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const requireCjs = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ACTION_RETRY = (requireCjs('ali-ons') as { Consumer: { ACTION_RETRY: symbol } }).Consumer.ACTION_RETRY;
const BACKLOG = Number(process.env['E2E_BACKLOG'] ?? 50_000);
const EXPORT_COUNT = 10_000;

const dir = tempDir('ops-e2e');
let child: ChildProcess | null = null;
let browser: Browser | null = null;
let consoleUrl = '';
let namesrv = '';
let admin: MQAdmin;
let page: Page;
const pageProblems: string[] = [];
/** While the app restarts, the open page's failed reconnects are expected, not problems. */
let restarting = false;
const clients = new Set<OnsConsumer | OnsProducer>();

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newestMtime(path.join(p, n))));
}

function ensureRendererBuilt(): void {
  const index = path.join(ROOT, 'out/renderer/index.html');
  const sources = Math.max(newestMtime(path.join(ROOT, 'src-renderer')), newestMtime(path.join(ROOT, 'src-main/console/contract')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const pkg = requireCjs.resolve('electron-vite/package.json');
  const cli = path.join(path.dirname(pkg), (requireCjs(pkg) as { bin: Record<string, string> }).bin['electron-vite']!);
  const r = spawnSync(process.execPath, [cli, 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`electron-vite build failed:\n${r.stdout}\n${r.stderr}`);
}

/** Starts `mqdesk serve` on the test's data directory; resolves with the Console URL and NameServer. */
function startServe(): Promise<void> {
  const tsx = requireCjs.resolve('tsx/cli');
  let output = '';
  child = spawn(process.execPath, [tsx, 'src-main/server/cli.ts', '--namesrv-port', '0', '--console-port', '0', '--data-dir', path.join(dir.path, 'data')], {
    cwd: ROOT, env: { ...process.env, MQDESK_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = child;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Console: line within 90 s:\n${output}`)), 90_000);
    proc.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ns = /^NameServer: (\S+)$/m.exec(output);
      const url = /^Console: (\S+)$/m.exec(output);
      if (ns && url) {
        clearTimeout(timer);
        namesrv = ns[1]!;
        consoleUrl = url[1]!;
        resolve();
      }
    });
    proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mqdesk serve exited with ${code}:\n${output}`));
    });
  });
}

async function stopServe(): Promise<void> {
  const proc = child;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
}

/** One JSON-RPC call to the running console (the page's own transport), for polling job state. */
function rpc<T>(method: string, params: unknown): Promise<T> {
  const u = new URL(consoleUrl);
  const ws = new WebSocket(`ws://${u.host}/rpc?token=${u.searchParams.get('token')}`, { origin: u.origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })));
    ws.once('message', (data) => {
      const m = JSON.parse(data.toString()) as { result?: T; error?: { message: string } };
      ws.close();
      if (m.error) reject(new Error(m.error.message));
      else resolve(m.result as T);
    });
    ws.once('error', reject);
  });
}

const track = <T extends OnsConsumer | OnsProducer>(c: T): T => {
  clients.add(c);
  const close = c.close.bind(c);
  c.close = async () => {
    clients.delete(c);
    await close();
  };
  return c;
};

async function closeClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.close().catch(() => undefined)));
  const MQProducer = requireCjs('ali-ons/lib/producer/mq_producer') as { defaultProducer: OnsProducer | null };
  const p = MQProducer.defaultProducer;
  MQProducer.defaultProducer = null;
  if (p) await p.close().catch(() => undefined);
}

function uniqKey(): string {
  return [...Array(32)].map(() => '0123456789ABCDEF'[Math.floor(Math.random() * 16)]).join('');
}

async function waitRoute(topic: string): Promise<void> {
  await waitFor(async () => admin.routeInfo(topic).then(() => true, () => false), 15_000, `route of ${topic}`);
}

async function createGroup(group: string, retryMaxTimes = 16): Promise<void> {
  for (const m of await admin.masterAddrs()) {
    await admin.upsertGroup(m.addr, { groupName: group, consumeEnable: true, retryQueueNums: 1, retryMaxTimes, consumeBroadcastEnable: true });
  }
}

async function setOffsets(group: string, topic: string, offset: number): Promise<void> {
  const route = await admin.routeInfo(topic);
  for (const q of route.queueDatas) {
    const addr = route.brokerDatas.find((b) => b.brokerName === q.brokerName)!.brokerAddrs['0']!;
    for (let i = 0; i < q.readQueueNums; i++) await admin.call(addr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: i, commitOffset: offset });
  }
}

/** SEND_MESSAGE_V2 of many messages, 128 in flight, round robin over the topic's queues. */
async function produce(topic: string, count: number, make: (i: number) => { body: string | Buffer; properties: Record<string, string>; sysFlag?: number; group?: string }): Promise<void> {
  await waitRoute(topic);
  const route = await admin.routeInfo(topic);
  const queues: Array<{ addr: string; queueId: number }> = [];
  for (const q of route.queueDatas) {
    const addr = route.brokerDatas.find((b) => b.brokerName === q.brokerName)!.brokerAddrs['0']!;
    for (let i = 0; i < q.writeQueueNums; i++) queues.push({ addr, queueId: i });
  }
  const pending = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i++) {
    const m = make(i);
    const q = queues[i % queues.length]!;
    const p = admin.sendMessage(q.addr, {
      producerGroup: m.group ?? 'PID_E2E_OPS', topic, queueId: q.queueId, properties: encodeProperties({ WAIT: 'true', ...m.properties }),
      body: typeof m.body === 'string' ? Buffer.from(m.body) : m.body, sysFlag: m.sysFlag,
    }).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= 128) await Promise.race(pending);
  }
  await Promise.all(pending);
}

async function openPage(): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const p = await context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' && !restarting) pageProblems.push(`console error: ${m.text()}`);
  });
  p.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
  return p;
}

async function nav(name: string): Promise<void> {
  await page.click(`[data-test=nav-${name}]`);
}

/** Picks an option of an Element Plus select (its dropdown is teleported to <body>). */
async function pick(selectTest: string, option: string | RegExp): Promise<void> {
  await page.click(`[data-test=${selectTest}]`);
  const hasText = typeof option === 'string' ? new RegExp(`^\\s*${option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) : option;
  await page.locator('.el-select-dropdown__item:visible', { hasText }).first().click();
}

async function shot(name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.screenshot({ path: `/tmp/ops-${name}.png`, fullPage: true });
}

/** A fresh page state at a route (no dialog left open by an earlier test). */
async function fresh(route: string, testId: string): Promise<void> {
  await page.goto(`${new URL(consoleUrl).origin}/#${route}`);
  await page.reload();
  await page.waitForSelector(`[data-test=${testId}]`);
}

async function confirmBox(): Promise<void> {
  await page.locator('.el-message-box__btns .el-button--primary:visible').click();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-microhei`);
  ensureRendererBuilt();
  await startServe();
  admin = createAdmin(namesrv);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await openPage();
  await page.goto(consoleUrl);
  await page.waitForSelector('[data-test=page-overview]');
}, 240_000);

// A failed step leaves its page in /tmp/ops-fail-<n>.png.
let testNo = 0;
afterEach(async (ctx) => {
  testNo++;
  if (ctx.task.result?.state === 'fail') await page?.screenshot({ path: `/tmp/ops-fail-${testNo}.png` }).catch(() => undefined);
});

afterAll(async () => {
  await closeClients();
  admin?.close();
  await browser?.close();
  await stopServe();
  dir.remove();
}, 60_000);

describe('operator pages in Chromium', () => {
  const DLQ_TOPIC = 'E2eDlqTopic';
  const DLQ_GROUP = 'GID_E2E_DLQ';
  const FAILED = 8;
  const bodies: string[] = [];
  const uniqs: string[] = [];

  it('dead letters: a failing consumer fills the DLQ; 3 resent one by one, the rest in bulk; a fixed consumer gets each once', async () => {
    await admin.createTopic(DLQ_TOPIC, 2);
    await createGroup(DLQ_GROUP, 1);
    await waitRoute(DLQ_TOPIC);
    const failing = track(createConsumer(namesrv, DLQ_GROUP, 'e2e-dlq-failing', {
      maxReconsumeTimes: 1, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000,
    }));
    failing.on('error', () => undefined);
    failing.subscribe(DLQ_TOPIC, '*', async (msg: OnsMessage) => {
      if (msg.reconsumeTimes === 0) return ACTION_RETRY;
      throw new Error('still failing');
    });
    await failing.ready();
    const table = (failing as unknown as { _processQueueTable: Map<string, unknown> })._processQueueTable;
    await waitFor(() => [...table.keys()].some((k) => k.includes(`%RETRY%${DLQ_GROUP}`)) && [...table.keys()].filter((k) => k.includes(`"${DLQ_TOPIC}"`)).length === 4,
      30_000, 'the failing consumer pulling');
    const producer = track(createProducer(namesrv, 'PID_E2E_DLQ', 'e2e-dlq-producer'));
    await producer.ready();
    for (let i = 0; i < FAILED; i++) {
      const msg = createMessage(DLQ_TOPIC, 'TagE2e', `e2e-dead-${i}`, [`e2e-order-${i}`]);
      msg.properties.UNIQ_KEY = uniqKey();
      uniqs.push(msg.properties.UNIQ_KEY);
      bodies.push(`e2e-dead-${i}`);
      await producer.send(msg);
    }
    // Retry level 3 is 10 s by default, then the DLQ.
    await waitFor(async () => (await rpc<Array<{ group: string; messages: number }>>('dlq:groups', {})).find((g) => g.group === DLQ_GROUP)?.messages === FAILED,
      90_000, `${FAILED} dead letters`);
    await failing.close();

    await nav('dead-letters');
    await page.waitForSelector('[data-test=page-dlq]');
    await pick('dlq-group', new RegExp(`^\\s*${DLQ_GROUP} \\(`));
    await page.waitForSelector('[data-test=dlq-preview]');
    await expect.poll(() => page.locator('[data-test=dlq-table] .el-table__body tr').count()).toBe(FAILED);
    expect(await page.textContent('[data-test=dlq-matched]')).toContain(String(FAILED));
    await shot('dlq-list');

    // Three one by one, from each row's Resend; the confirm is double-clicked: one job each.
    for (let i = 0; i < 3; i++) {
      const row = page.locator('[data-test=dlq-table] .el-table__body tr', { hasText: `e2e-dead-${i}` }).first();
      await row.locator('[data-test^=dlq-resend-]').click();
      await page.waitForSelector('[data-test=resend-preview]');
      expect(await page.textContent('[data-test=resend-preview]')).toContain('1');
      await page.dblclick('[data-test=resend-confirm]');
      await page.waitForSelector('[data-test=job-state] >> text=Done');
      if (i === 0) await shot('dlq-resend-one');
      await page.keyboard.press('Escape');
      await page.waitForTimeout(300);
    }
    const afterOne = (await rpc<JobInfo[]>('job:list', {})).filter((j) => j.kind === 'dlq-resend');
    expect(afterOne).toHaveLength(3);
    expect(afterOne.every((j) => j.succeeded === 1)).toBe(true);

    // The rest: select their rows, resend the selection.
    await page.click('[data-test=dlq-refresh]');
    await page.waitForTimeout(800);
    for (let i = 3; i < FAILED; i++) {
      await page.locator('[data-test=dlq-table] .el-table__body tr', { hasText: `e2e-dead-${i}` }).first().locator('.el-checkbox').click();
    }
    expect(await page.textContent('[data-test=dlq-resend-selected]')).toContain(String(FAILED - 3));
    await page.click('[data-test=dlq-resend-selected]');
    await page.waitForSelector('[data-test=resend-preview]');
    await page.click('[data-test=resend-confirm]');
    await page.waitForSelector('[data-test=job-state] >> text=Done');
    await page.waitForSelector('[data-test=receipts-table] .el-table__body tr');
    expect(await page.locator('[data-test=receipts-table] .el-table__body tr').count()).toBe(FAILED - 3);
    await shot('dlq-resend-bulk');
    await page.keyboard.press('Escape');
    const resends = (await rpc<JobInfo[]>('job:list', {})).filter((j) => j.kind === 'dlq-resend');
    expect(resends).toHaveLength(4);
    expect(resends.reduce((s, j) => s + j.succeeded, 0)).toBe(FAILED);

    const received: string[] = [];
    const fixed = track(createConsumer(namesrv, DLQ_GROUP, 'e2e-dlq-fixed', { consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000 }));
    fixed.on('error', () => undefined);
    fixed.subscribe(DLQ_TOPIC, '*', async (msg: OnsMessage) => {
      received.push(msg.body.toString());
    });
    await fixed.ready();
    await waitFor(() => received.length >= FAILED, 40_000, 'the fixed consumer to get every resent message');
    await new Promise((r) => setTimeout(r, 3000));
    await fixed.close();
    expect(received.sort()).toEqual([...bodies].sort());
  }, 240_000);

  it('dead letters: 10,000 exported to JSON Lines and CSV downloads that parse and match', async () => {
    const group = 'GID_E2E_EXPORT';
    await createGroup(group);
    await admin.createTopic(`%DLQ%${group}`, 1);
    const sent = new Map<string, string>();
    await produce(`%DLQ%${group}`, EXPORT_COUNT, (i) => {
      const u = uniqKey();
      const body = i % 50 === 0 ? `=cmd|' /C calc'!A${i}` : `{"n":${i},"text":"e2e, \\"quoted\\""}`;
      sent.set(u, body);
      return { body, properties: { UNIQ_KEY: u, KEYS: `exp-${i}`, TAGS: i % 2 ? 'A' : '-B', RETRY_TOPIC: 'E2eExportTopic', ORIGIN_MESSAGE_ID: u } };
    });
    await fresh('/dead-letters', 'page-dlq');
    await pick('dlq-group', new RegExp(`^\\s*${group} \\(`));
    await page.waitForSelector('[data-test=dlq-preview]');
    for (const format of ['jsonl', 'csv'] as const) {
      await page.click('[data-test=dlq-export-all]');
      await page.waitForSelector('[data-test=export-dialog]');
      await page.locator('[data-test=export-format] label', { hasText: format === 'csv' ? 'CSV' : 'JSON Lines' }).click();
      const download = page.waitForEvent('download', { timeout: 120_000 });
      await page.click('[data-test=export-start]');
      const file = path.join(dir.path, `export.${format}`);
      const d = await download;
      await d.saveAs(file);
      expect(d.suggestedFilename()).toMatch(new RegExp(`^dlq-${group}-\\d{8}-\\d{6}\\.${format}$`));
      await page.waitForSelector('[data-test=job-state] >> text=Done');
      if (format === 'csv') await shot('dlq-export');
      await page.keyboard.press('Escape');
      await page.waitForTimeout(300);
      const text = readFileSync(file, 'utf8');
      if (format === 'jsonl') {
        const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as ExportRecord);
        expect(lines).toHaveLength(EXPORT_COUNT);
        for (const r of lines) expect(r.body).toBe(sent.get(r.uniqKey!));
        expect(new Set(lines.map((r) => r.uniqKey)).size).toBe(EXPORT_COUNT);
      } else {
        const rows = parseCsv(text);
        expect(rows[0]).toEqual([...EXPORT_COLUMNS]);
        expect(rows).toHaveLength(EXPORT_COUNT + 1);
        const u = EXPORT_COLUMNS.indexOf('uniqKey');
        const b = EXPORT_COLUMNS.indexOf('body');
        for (const row of rows.slice(1)) {
          expect(row.some((c) => /^[=+\-@\t\r]/.test(c))).toBe(false);
          expect(unguardCell(row[b]!)).toBe(sent.get(row[u]!));
        }
      }
    }
  }, 240_000);

  it('trace: the path of a dead letter\'s original (retry, DLQ, resend) on a timeline', async () => {
    await fresh('/trace', 'page-trace');
    await pick('trace-topic', DLQ_TOPIC);
    await page.fill('[data-test=trace-input]', uniqs[0]!);
    await page.click('[data-test=trace-search]');
    await page.waitForSelector('[data-test=trace-result]');
    await page.waitForSelector('[data-test=trace-event-dlq]');
    for (const kind of ['produced', 'stored', 'retry', 'dlq', 'resend', 'offset']) {
      expect(await page.locator(`[data-test=trace-event-${kind}]`).count(), kind).toBeGreaterThan(0);
    }
    expect(await page.textContent(`[data-test=trace-consumption-${DLQ_GROUP}]`)).toContain('Yes');
    expect(await page.locator('[data-test=trace-no-records]').count()).toBe(1);
    await shot('trace');
  }, 60_000);

  it('delay: waiting per level follows the scheduler as messages fall due', async () => {
    await admin.createTopic('E2eDelayTopic', 2);
    await produce('E2eDelayTopic', 4, (i) => ({ body: `soon-${i}`, properties: { DELAY: '3', KEYS: `soon-${i}`, UNIQ_KEY: uniqKey() } }));
    await produce('E2eDelayTopic', 3, (i) => ({ body: `later-${i}`, properties: { DELAY: '16', KEYS: `later-${i}`, UNIQ_KEY: uniqKey() } }));
    await fresh('/delay', 'page-delay');
    await page.waitForSelector('[data-test=delay-total]');
    await page.click('[data-test=delay-refresh]');
    await expect.poll(async () => (await page.textContent('[data-test=delay-total]'))?.trim(), { timeout: 10_000 }).toBe('7');
    expect((await page.textContent('[data-test=delay-waiting-16]'))?.trim()).toBe('3');
    expect(await page.locator('[data-test=delay-chart] rect').count()).toBe(12);
    await page.fill('[data-test=delay-search]', 'later-1');
    await page.press('[data-test=delay-search]', 'Enter');
    await expect.poll(() => page.locator('[data-test=delay-list] .el-table__body tr').count()).toBe(1);
    await shot('delay');
    await page.fill('[data-test=delay-search]', '');
    await page.press('[data-test=delay-search]', 'Enter');
    // Level 3 is 10 s: the scheduler delivers them and the page follows (it refreshes every 5 s).
    await expect.poll(async () => (await page.textContent('[data-test=delay-total]'))?.trim(), { timeout: 30_000 }).toBe('3');
    expect(await page.locator('[data-test=delay-waiting-3]').allTextContents()).not.toContain('4');
  }, 90_000);

  it('transactions: half messages listed, committed and rolled back from the page', async () => {
    await admin.createTopic('E2eTxTopic', 2);
    const half = (name: string) => ({
      body: `tx-${name}`, group: 'PID_E2E_TX', sysFlag: MessageSysFlag.TRANSACTION_PREPARED_TYPE,
      properties: { TRAN_MSG: 'true', PGROUP: 'PID_E2E_TX', KEYS: `tx-${name}`, UNIQ_KEY: uniqKey() },
    });
    await produce('E2eTxTopic', 2, (i) => half(i === 0 ? 'commit' : 'rollback'));
    await fresh('/transactions', 'page-transactions');
    await page.waitForSelector('[data-test=tx-pending]');
    await page.click('[data-test=tx-refresh]');
    await expect.poll(async () => (await page.textContent('[data-test=tx-pending]'))?.trim(), { timeout: 10_000 }).toBe('2');
    await shot('transactions');
    await page.click('[data-test=tx-commit-tx-commit]');
    await confirmBox();
    await expect.poll(async () => (await page.textContent('[data-test=tx-committed]'))?.trim(), { timeout: 15_000 }).toBe('1');
    await page.click('[data-test=tx-rollback-tx-rollback]');
    await confirmBox();
    await expect.poll(async () => (await page.textContent('[data-test=tx-rolledback]'))?.trim(), { timeout: 15_000 }).toBe('1');
    await expect.poll(async () => (await page.textContent('[data-test=tx-pending]'))?.trim()).toBe('0');
    expect(await page.locator('[data-test=tx-audit] .el-table__body tr').count()).toBeGreaterThanOrEqual(2);
    const inTopic = await rpc<{ messages: unknown[] }>('message:by-key', { topic: 'E2eTxTopic', key: 'tx-commit' });
    expect(inTopic.messages).toHaveLength(1);
    await shot('transactions-resolved');
  }, 90_000);

  it(`backlog: ${BACKLOG} messages migrated with a restart of the app in the middle, forwarded and received exactly once`, async () => {
    const topic = 'E2eBacklogTopic';
    const group = 'GID_E2E_BACKLOG';
    await admin.createTopic(topic, 2);
    await createGroup(group);
    await waitRoute(topic);
    await setOffsets(group, topic, 0);
    await produce(topic, BACKLOG, (i) => ({ body: `bl-${i}`, properties: { KEYS: `bl-${i}` } }));

    await fresh(`/backlog?group=${group}`, 'lag-panel');
    await shot('backlog-lag');
    await page.click('#tab-migration');
    await pick('migration-topic', topic);
    await page.click('[data-test=migration-diagnose]');
    await page.waitForSelector('[data-test=migration-recommendation]');
    await shot('backlog-diagnose');
    await page.click('[data-test=migration-start]');
    await page.waitForSelector('[data-test^=migration-job-]');
    let job: MigrationJob | undefined;
    await waitFor(async () => {
      job = (await rpc<MigrationJob[]>('migration:list', {})).find((j) => j.group === group);
      return (job?.forwarded ?? 0) >= BACKLOG / 5;
    }, 120_000, 'a fifth forwarded');
    await shot('backlog-forwarding');

    // Restart the app: the serve process (cluster and console) stops and starts on the same data.
    restarting = true;
    await closeClients();
    admin.close();
    await stopServe();
    await startServe();
    admin = createAdmin(namesrv);
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=page-overview]');
    await fresh(`/backlog?group=${group}&tab=migration`, `migration-job-${job!.id}`);
    // Reconnect attempts the page made while the server was down may still log once it is back up.
    restarting = false;
    await waitFor(async () => (await rpc<MigrationJob>('migration:get', { jobId: job!.id })).state === 'draining', 180_000, 'forwarding done after the restart');
    const drained = await rpc<MigrationJob>('migration:get', { jobId: job!.id });
    expect(drained.forwarded).toBe(BACKLOG);
    expect(drained.log.some((l) => l.text.includes('resumed after a restart'))).toBe(true);

    const seen = new Map<string, number>();
    const consumer = track(createConsumer(namesrv, drained.tempGroup, 'e2e-mig-drain', { consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', rebalanceInterval: 1000, pollNameServerInteval: 1000 }));
    consumer.on('error', () => undefined);
    consumer.subscribe(drained.tempTopic, '*', async (msg: OnsMessage) => {
      const b = msg.body.toString();
      seen.set(b, (seen.get(b) ?? 0) + 1);
    });
    await consumer.ready();
    await expect.poll(async () => (await page.textContent('[data-test=migration-temp-lag]'))?.trim(), { timeout: 240_000, interval: 1000 }).toBe('0');
    await closeClients();
    expect(seen.size).toBe(BACKLOG);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    await shot('backlog-drained');
    await page.click('[data-test=migration-restore]');
    await confirmBox();
    await page.waitForSelector('[data-test=migration-check]', { timeout: 120_000 });
    await expect.poll(async () => (await page.textContent('[data-test=migration-state]'))?.trim(), { timeout: 60_000 }).toBe('Done');
    const done = await rpc<MigrationJob>('migration:get', { jobId: job!.id });
    expect(done.check).toMatchObject({ expected: BACKLOG, forwarded: BACKLOG, duplicates: 0, missing: 0, ok: true });
    expect(await page.textContent('[data-test=migration-check]')).toContain('exactly once');
    await shot('backlog-done');
  }, 600_000);

  it('overview badges link to the pages; every page renders in light and dark, English and Chinese (screenshots in /tmp)', async () => {
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=overview-badges]');
    await page.click('[data-test=badge-delay]');
    await page.waitForSelector('[data-test=page-delay]');
    await page.goBack();
    await page.click('[data-test=badge-transactions]');
    await page.waitForSelector('[data-test=page-transactions]');
    await page.goBack();
    await page.click('[data-test=badge-backlog]');
    await page.waitForSelector('[data-test=page-backlog]');
    const PAGES: Array<[string, string]> = [
      ['overview', 'page-overview'], ['trace', 'page-trace'], ['dead-letters', 'page-dlq'], ['delay', 'page-delay'],
      ['transactions', 'page-transactions'], ['backlog', 'page-backlog'],
    ];
    for (const theme of ['light', 'dark'] as const) {
      for (const locale of ['en', 'zh-CN'] as const) {
        await page.evaluate(`localStorage.setItem('mqdesk-settings-v1', ${JSON.stringify(JSON.stringify({ theme, locale }))})`);
        await page.reload();
        for (const [name, test] of PAGES) {
          await nav(name);
          await page.waitForSelector(`[data-test=${test}]`);
          await page.waitForLoadState('networkidle');
          await page.waitForTimeout(900);
          await page.screenshot({ path: `/tmp/ops-${name}-${theme}-${locale}.png`, fullPage: true });
        }
      }
    }
    expect(pageProblems.filter((p) => !p.includes('401'))).toEqual([]);
  }, 240_000);
});
