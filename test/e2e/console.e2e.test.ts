/**
 * Browser test of the headless console: `tsx src-main/server/cli.ts` as a child on a fresh embedded
 * cluster, driven through Debian's Chromium with playwright-core. Creates a topic in the UI, sends a
 * message from the Playground, finds it in Messages (browse, by key, by id) and opens its body,
 * switches language and theme, and checks that a wrong token and a foreign Origin are refused.
 * Screenshots of every page (light/dark × en/zh-CN) go to /tmp/console-*.png.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium fonts-wqy-microhei`); without it the suite
 * fails with that message. The renderer is rebuilt first when out/renderer is older than its
 * sources (`npx electron-vite build`, a few seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import { tempDir } from '../harness/temp-dir.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const SHOT_DIR = '/tmp';
const require = createRequire(import.meta.url);

const dir = tempDir('console-e2e');
let child: ChildProcess | null = null;
let browser: Browser | null = null;
let consoleUrl = '';
let origin = '';
let childOutput = '';
const pageProblems: string[] = [];

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newestMtime(path.join(p, n))));
}

/** Rebuilds out/renderer when any renderer or contract source is newer than its index.html. */
function ensureRendererBuilt(): void {
  const index = path.join(ROOT, 'out/renderer/index.html');
  const sources = Math.max(newestMtime(path.join(ROOT, 'src-renderer')), newestMtime(path.join(ROOT, 'src-main/console/contract')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const started = Date.now();
  const pkg = require.resolve('electron-vite/package.json');
  const cli = path.join(path.dirname(pkg), (require(pkg) as { bin: Record<string, string> }).bin['electron-vite']!);
  const r = spawnSync(process.execPath, [cli, 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`electron-vite build failed:\n${r.stdout}\n${r.stderr}`);
  console.log(`[e2e] renderer rebuilt in ${Date.now() - started} ms`);
}

function startServe(): Promise<string> {
  const tsx = require.resolve('tsx/cli');
  child = spawn(process.execPath, [tsx, 'src-main/server/cli.ts', '--namesrv-port', '0', '--console-port', '0', '--data-dir', path.join(dir.path, 'data')], {
    cwd: ROOT, env: { ...process.env, MQDESK_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Console: line within 60 s; output:\n${childOutput}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      childOutput += chunk.toString();
      const lines = childOutput.split('\n');
      const nameServerAt = lines.findIndex((l) => l.startsWith('NameServer: '));
      const consoleLines = lines.filter((l) => l.startsWith('Console: '));
      if (consoleLines.length > 0 && nameServerAt >= 0) {
        clearTimeout(timer);
        expect(consoleLines).toHaveLength(1);
        expect(lines.findIndex((l) => l.startsWith('Console: '))).toBeGreaterThan(nameServerAt);
        resolve(consoleLines[0]!.slice('Console: '.length).trim());
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', (c: Buffer) => (childOutput += c.toString()));
    child!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mqdesk serve exited with ${code}:\n${childOutput}`));
    });
  });
}

function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

function wsStatus(url: string, wsOrigin: string): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { origin: wsOrigin });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

async function openPage(): Promise<Page> {
  const context = await browser!.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') pageProblems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
  return page;
}

/** Picks an option of an Element Plus select (its dropdown is teleported to <body>). */
async function pick(page: Page, selectTest: string, option: string): Promise<void> {
  await page.click(`[data-test=${selectTest}]`);
  await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^\\s*${option}\\s*$`) }).first().click();
}

const PAGES = ['overview', 'topics', 'consumer-groups', 'messages', 'playground', 'settings'] as const;
const TEST_ID: Record<(typeof PAGES)[number], string> = {
  overview: 'page-overview', topics: 'page-topics', 'consumer-groups': 'page-groups', messages: 'page-messages',
  playground: 'page-playground', settings: 'page-settings',
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get update && apt-get install -y chromium fonts-wqy-microhei)`);
  }
  ensureRendererBuilt();
  consoleUrl = await startServe();
  origin = new URL(consoleUrl).origin;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  }
  dir.remove();
}, 30_000);

describe('headless console in Chromium', () => {
  it('prints one loopback Console: line with a 32-byte token', () => {
    expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  });

  it('refuses a wrong token (HTTP 401, WebSocket refused) and a foreign Origin (403)', async () => {
    const token = new URL(consoleUrl).searchParams.get('token')!;
    expect(await httpStatus(`${origin}/`)).toBe(401);
    expect(await httpStatus(`${origin}/?token=${'f'.repeat(64)}`)).toBe(401);
    expect(await httpStatus(consoleUrl)).toBe(200);
    expect(await httpStatus(consoleUrl, { origin: 'http://evil.example' })).toBe(403);
    const rpc = `ws://${new URL(consoleUrl).host}/rpc`;
    expect(await wsStatus(`${rpc}?token=wrong`, origin)).toBe(401);
    expect(await wsStatus(`${rpc}?token=${token}`, 'http://evil.example')).toBe(403);
    expect(await wsStatus(`${rpc}?token=${token}`, origin)).toBe('open');

    const page = await openPage();
    const response = await page.goto(`${origin}/?token=nope`);
    expect(response?.status()).toBe(401);
    await page.context().close();
  });

  it('creates a topic, sends a message, finds it in Messages by browse, key and id, switches language and theme', async () => {
    const page = await openPage();
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=broker-group-broker-a]');
    expect(new URL(page.url()).searchParams.get('token')).toBeNull(); // dropped from the address bar

    // Topics: create E2eTopic in the dialog.
    await page.click('[data-test=nav-topics]');
    await page.click('[data-test=topic-create]');
    await page.fill('[data-test=topic-form-name]', 'E2eTopic');
    await page.click('[data-test=topic-form-submit]');
    await page.waitForSelector('[data-test=topic-row-E2eTopic]');
    await page.click('[data-test=topic-row-E2eTopic]');
    await page.waitForSelector('[data-test=topic-queue-table]');
    expect(await page.locator('[data-test=topic-queue-table] .el-table__body tr').count()).toBe(8);
    expect((await page.textContent('[data-test=topic-total]'))!.trim()).toBe('0');
    await page.keyboard.press('Escape');

    // Playground: send one message with tags, keys and a JSON body.
    await page.click('[data-test=nav-playground]');
    await pick(page, 'send-topic', 'E2eTopic');
    await page.fill('[data-test=send-tags]', 'e2e');
    await page.fill('[data-test=send-keys]', 'e2e-key-1');
    await page.fill('[data-test=send-body]', '{"hello":"e2e","n":1}');
    await page.click('[data-test=send-submit]');
    await page.waitForSelector('[data-test=send-result]');
    const msgId = (await page.textContent('[data-test=send-msgid]'))!.trim();
    const uniqKey = (await page.textContent('[data-test=send-uniqkey]'))!.trim();
    expect(msgId).toMatch(/^[0-9A-F]{32}$/);
    expect(uniqKey).toMatch(/^[0-9A-F]{32}$/);

    // Topics: the offsets moved.
    await page.click('[data-test=nav-topics]');
    await page.click('[data-test=topic-row-E2eTopic]');
    await page.waitForSelector('[data-test=topic-total]');
    expect((await page.textContent('[data-test=topic-total]'))!.trim()).toBe('1');
    await page.keyboard.press('Escape');

    // Messages, browse: "View in Messages" opens the queue the message went to.
    await page.click('[data-test=nav-playground]');
    await page.click('[data-test=send-result] >> text=View in Messages');
    await page.waitForSelector('[data-test=message-preview]');
    expect(await page.locator('[data-test=message-preview]').allTextContents()).toContain('{"hello":"e2e","n":1}');

    // Messages, by key: the row opens the drawer with the body as JSON.
    await page.click('#tab-key');
    await pick(page, 'bykey-topic', 'E2eTopic');
    await page.fill('[data-test=bykey-input]', 'e2e-key-1');
    await page.click('[data-test=bykey-search]');
    await page.locator('[data-test=message-preview]').first().click();
    await page.waitForSelector('[data-test=body-json]');
    expect(await page.textContent('[data-test=body-json]')).toContain('"hello": "e2e"');
    await page.click('[data-test=body-viewer] >> text=Hex');
    expect(await page.textContent('[data-test=body-hex]')).toContain('7b 22 68 65 6c 6c 6f');
    const download = page.waitForEvent('download');
    await page.click('[data-test=body-download]');
    expect((await download).suggestedFilename()).toBe(`E2eTopic-${uniqKey}.bin`);
    await page.keyboard.press('Escape');

    // Messages, by id: the offset id finds it alone; the drawer opens on the single result.
    await page.click('#tab-id');
    await page.fill('[data-test=byid-input]', msgId);
    await page.click('[data-test=byid-search]');
    await page.waitForSelector('[data-test=message-detail]');
    expect((await page.textContent('[data-test=detail-msgid]'))!.trim()).toBe(msgId);
    await page.keyboard.press('Escape');

    // Language and theme from the toolbar, remembered across a reload (the cookie keeps us in).
    await page.click('.app-toolbar .language');
    await page.locator('.el-select-dropdown__item:visible', { hasText: '简体中文' }).click();
    await page.click('.app-toolbar >> text=深色');
    expect(await page.getAttribute('html', 'class')).toContain('dark');
    await page.reload();
    await page.waitForSelector('[data-test=page-messages]');
    expect(await page.textContent('[data-test=nav-topics]')).toContain('主题');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.getAttribute('html', 'class')).toContain('dark');
    await page.context().close();
  });

  it('renders every page in light and dark, English and Chinese, without errors (screenshots in /tmp)', async () => {
    const page = await openPage();
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=page-overview]');
    for (const theme of ['light', 'dark'] as const) {
      for (const locale of ['en', 'zh-CN'] as const) {
        // Runs in the page (a string, so Node's type-check needs no DOM types).
        await page.evaluate(`localStorage.setItem('mqdesk-settings-v1', ${JSON.stringify(JSON.stringify({ theme, locale }))})`);
        await page.reload();
        for (const p of PAGES) {
          await page.click(`[data-test=nav-${p}]`);
          await page.waitForSelector(`[data-test=${TEST_ID[p]}]`);
          await page.waitForLoadState('networkidle');
          await page.waitForTimeout(400);
          await page.screenshot({ path: path.join(SHOT_DIR, `console-${p}-${theme}-${locale}.png`) });
        }
      }
    }
    await page.context().close();
    expect(pageProblems.filter((p) => !p.includes('401'))).toEqual([]);
  });
});

/** One JSON-RPC call over the console's WebSocket, as the page makes it. */
function rpcCall(method: string, params: unknown): Promise<{ result?: unknown; error?: { message: string; data?: { code: string } } }> {
  const token = new URL(consoleUrl).searchParams.get('token')!;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${new URL(consoleUrl).host}/rpc?token=${token}`, { origin });
    ws.once('open', () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })));
    ws.once('message', (data) => {
      ws.close();
      resolve(JSON.parse(data.toString()) as { result?: unknown; error?: { message: string; data?: { code: string } } });
    });
    ws.once('error', reject);
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(SHOT_DIR, `console4-${name}.png`) });
}

describe('issue 4 item 6 and issue 3 item 8 in Chromium', () => {
  it('Ctrl+K palette jumps to a page and opens a topic', async () => {
    const page = await openPage();
    page.setDefaultTimeout(10_000);
    expect((await rpcCall('topic:create', { topic: 'PaletteJumpTopic', readQueueNums: 2, writeQueueNums: 2 })).error).toBeUndefined();
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=page-overview]');
    await page.keyboard.press('Control+k');
    await page.waitForSelector('[data-test=palette-input]:focus');
    await page.keyboard.type('jumptop');
    await page.waitForSelector('[data-test="palette-item-topic-PaletteJumpTopic"]');
    await shot(page, 'palette');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-test=page-topics]');
    await page.waitForSelector('[data-test=topic-queue-table]');
    expect(await page.locator('[data-test=topic-queue-table] .el-table__body tr').count()).toBe(4);
    await shot(page, 'palette-opened-topic');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+k');
    await page.waitForSelector('[data-test=palette-input]:focus');
    await page.keyboard.type('settings');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-test=page-settings]');
    await page.context().close();
  });

  it('read-only mode: the switch blocks writes in the UI and on the wire, and the audit log shows the refusal', async () => {
    const page = await openPage();
    await page.goto(consoleUrl);
    await page.click('[data-test=nav-settings]');
    await page.click('[data-test=conn-readonly-embedded]');
    await page.waitForSelector('[data-test=readonly-badge]');
    try {
      await page.click('[data-test=nav-topics]');
      await page.waitForSelector('[data-test=page-topics]');
      expect(await page.isDisabled('[data-test=topic-create]')).toBe(true);
      await shot(page, 'readonly-topics');
      await page.click('[data-test=nav-playground]');
      await page.waitForSelector('[data-test=page-playground]');
      expect(await page.isDisabled('[data-test=send-submit]')).toBe(true);
      // The host refuses it too, whatever the page does.
      const refused = await rpcCall('topic:create', { topic: 'ReadOnlyE2e' });
      expect(refused.error?.data?.code).toBe('FORBIDDEN');
      expect(refused.error?.message).toMatch(/read-only/);
      await page.click('[data-test=nav-settings]');
      await page.click('[data-test=audit-refresh]');
      await page.waitForSelector('[data-test=audit-table] [data-test=audit-failed]');
      await page.locator('[data-test=audit-card]').scrollIntoViewIfNeeded();
      await shot(page, 'readonly-audit');
    } finally {
      await rpcCall('connection:options-save', { connectionId: 'embedded', readOnly: false });
    }
    await page.reload();
    await page.waitForSelector('[data-test=page-settings]');
    expect(await page.locator('[data-test=readonly-badge]').count()).toBe(0);
    const topics = (await rpcCall('topic:list', {})).result as { topics: Array<{ name: string }> };
    expect(topics.topics.map((t) => t.name)).not.toContain('ReadOnlyE2e');
    await page.locator('[data-test=embedded-settings]').scrollIntoViewIfNeeded();
    // Loaded once the WebSocket is up, even though the card mounted before.
    await expect.poll(() => page.inputValue('[data-test=es-groups]'), { timeout: 10_000 }).toBe('broker-a, broker-b');
    await shot(page, 'settings-embedded');
    await page.context().close();
  });

  it('the theme follows the OS (prefers-color-scheme) until the user picks one', async () => {
    const context = await browser!.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=page-overview]');
    expect(await page.getAttribute('html', 'class')).toContain('dark');
    await shot(page, 'theme-os-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForSelector('html:not(.dark)', { state: 'attached' });
    await shot(page, 'theme-os-light');
    // The user picks dark: the OS no longer decides.
    await page.click('[data-test=toolbar-theme] >> text=Dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.reload();
    await page.waitForSelector('[data-test=page-overview]');
    expect(await page.getAttribute('html', 'class')).toContain('dark');
    // Back to following the OS.
    await page.click('[data-test=toolbar-theme] >> text=System');
    await page.waitForSelector('html:not(.dark)', { state: 'attached' });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForSelector('html.dark', { state: 'attached' });
    await context.close();
  });

  it('stops and restarts a node of the embedded cluster from the Overview, with confirmations and events', async () => {
    const page = await openPage();
    await page.goto(consoleUrl);
    await page.waitForSelector('[data-test=embedded-nodes]');
    await page.waitForSelector('[data-test=node-state-broker-b-1]');
    expect((await page.textContent('[data-test=node-state-broker-b-1]'))!.trim()).toBe('Running');
    await page.locator('[data-test=embedded-nodes]').scrollIntoViewIfNeeded();

    // Cancel first: nothing happens.
    await page.click('[data-test=node-stop-broker-b-1]');
    await page.waitForSelector('.node-confirm');
    await page.click('.node-confirm >> text=Cancel');
    await page.waitForTimeout(500);
    expect((await page.textContent('[data-test=node-state-broker-b-1]'))!.trim()).toBe('Running');

    await page.click('[data-test=node-stop-broker-b-1]');
    await page.waitForSelector('.node-confirm');
    await shot(page, 'node-stop-confirm');
    await page.click('.node-confirm .el-button--primary');
    await page.waitForSelector('[data-test=node-state-broker-b-1]:has-text("Stopped")', { timeout: 20_000 });
    await page.waitForSelector('[data-test=cluster-events] >> text=stopped cleanly');
    await shot(page, 'overview-node-stopped');

    await page.click('[data-test=node-restart-broker-b-1]');
    await page.waitForSelector('.node-confirm');
    await page.click('.node-confirm .el-button--primary');
    await page.waitForSelector('[data-test=node-state-broker-b-1]:has-text("Running")', { timeout: 30_000 });
    await shot(page, 'overview-node-restarted');
    const nodes = (await rpcCall('cluster:nodes', {})).result as { nodes: Array<{ name: string; state: string }> };
    expect(nodes.nodes.find((n) => n.name === 'broker-b-1')?.state).toBe('running');
    await page.context().close();
    expect(pageProblems.filter((p) => !p.includes('401'))).toEqual([]);
  });
});
