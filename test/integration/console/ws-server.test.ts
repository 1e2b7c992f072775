/**
 * The headless console's HTTP + WebSocket server: the token, Host and Origin checks, the security
 * headers, the JSON-RPC wire format the renderer's ws-transport speaks, and pushed events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { startCluster, type EmbeddedCluster } from '../../../src-main/broker/cluster/cluster.js';
import { ConsoleService } from '../../../src-main/console/service.js';
import { startConsoleServer, type ConsoleServer } from '../../../src-main/server/http-server.js';
import { CONTENT_SECURITY_POLICY } from '../../../src-main/server/static-files.js';
import { tempDir, waitFor } from '../../harness/temp-dir.js';

const dir = tempDir('console-ws');
let cluster: EmbeddedCluster;
let service: ConsoleService;
let server: ConsoleServer;

function get(urlPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: server.port, path: urlPath, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Opens /rpc; resolves with the socket or the HTTP status that refused it. */
function connect(query: string, options: { origin?: string; headers?: Record<string, string> } = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc${query}`, { origin: options.origin, headers: options.headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', (e) => reject(e));
  });
}

function rpc(ws: WebSocket) {
  let id = 0;
  const pending = new Map<number | string | null, (m: Record<string, unknown>) => void>();
  const events: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Record<string, unknown>;
    if (m['method'] === 'event') events.push(m);
    else pending.get(m['id'] as number)?.(m);
  });
  return {
    events,
    call(method: string, params?: unknown): Promise<Record<string, unknown>> {
      const i = ++id;
      return new Promise((resolve) => {
        pending.set(i, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method, params }));
      });
    },
    raw(text: string): Promise<Record<string, unknown>> {
      return new Promise((resolve) => {
        pending.set(null, resolve);
        ws.send(text);
      });
    },
  };
}

beforeAll(async () => {
  const renderer = path.join(dir.path, 'renderer');
  mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>MQDesk</title>');
  writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(dir.path, 'secret.txt'), 'outside');
  cluster = await startCluster({ dataDir: path.join(dir.path, 'cluster'), namesrvPort: 0 });
  service = await ConsoleService.create({ dataDir: path.join(dir.path, 'console'), embeddedNamesrvAddr: cluster.namesrvAddr, mode: 'headless', version: '1.2.3' });
  server = await startConsoleServer({ service, rendererDir: renderer, port: 0, log: () => undefined });
});

afterAll(async () => {
  await server?.close();
  await service?.close();
  await cluster?.stop();
  dir.remove();
});

describe('HTTP', () => {
  it('prints a loopback URL carrying a 64-hex-digit token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(server.origin).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('serves the page with the token, sets an HttpOnly SameSite=Strict cookie and the security headers', async () => {
    const r = await get(`/?token=${server.token}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('MQDesk');
    expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['set-cookie']?.[0]).toBe(`mqdesk_token=${server.token}; HttpOnly; SameSite=Strict; Path=/`);
  });

  it('answers 401 without a token or with a wrong one, and accepts the cookie or a Bearer header', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/?token=00')).status).toBe(401);
    expect((await get(`/?token=${'0'.repeat(64)}`)).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get('/assets/app.js', { cookie: `mqdesk_token=${server.token}` })).status).toBe(200);
    expect((await get('/', { authorization: `Bearer ${server.token}` })).status).toBe(200);
    expect((await get('/', { cookie: 'mqdesk_token=wrong' })).status).toBe(401);
  });

  it('answers 403 to a foreign Host (DNS rebinding) or Origin, 404 outside the renderer, 405 to other methods', async () => {
    const auth = { cookie: `mqdesk_token=${server.token}` };
    expect((await get('/', { ...auth, host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await get('/', { ...auth, host: `localhost:${server.port}` })).status).toBe(200);
    expect((await get('/', { ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await get('/../secret.txt', auth)).status).toBe(404);
    expect((await get('/%2e%2e/secret.txt', auth)).status).toBe(404);
    expect((await get('/nope.js', auth)).status).toBe(404);
    const post = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, path: '/', method: 'POST', headers: auth }, (res) => resolve(res.statusCode ?? 0));
      req.end('{}');
    });
    expect(post).toBe(405);
  });
});

describe('WebSocket /rpc', () => {
  it('refuses a missing or wrong token (401), a foreign or missing Origin (403), a foreign Host (403)', async () => {
    expect(await connect('', { origin: server.origin })).toBe(401);
    expect(await connect('?token=bad', { origin: server.origin })).toBe(401);
    expect(await connect(`?token=${server.token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await connect(`?token=${server.token}`, { origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
    expect(await connect(`?token=${server.token}`)).toBe(403);
    expect(await connect(`?token=${server.token}`, { origin: server.origin, headers: { host: `evil.example:${server.port}` } })).toBe(403);
  });

  it('speaks JSON-RPC 2.0: results, contract errors with data.code, parse and method errors', async () => {
    const ws = (await connect(`?token=${server.token}`, { origin: server.origin })) as WebSocket;
    const c = rpc(ws);
    expect(await c.call('app:info', {})).toEqual({ jsonrpc: '2.0', id: 1, result: { version: '1.2.3', mode: 'headless', namesrvAddr: cluster.namesrvAddr } });
    const bad = await c.call('topic:create', { topic: 'x y' });
    expect(bad['error']).toMatchObject({ code: -32602, data: { code: 'BAD_REQUEST' } });
    expect(String((bad['error'] as { message: string }).message)).toMatch(/topic/);
    expect((await c.call('no:such', {}))['error']).toMatchObject({ code: -32601, data: { code: 'UNKNOWN_CHANNEL' } });
    expect((await c.call('topic:detail', { topic: 'Missing' }))['error']).toMatchObject({ code: -32000, data: { code: 'NOT_FOUND' } });
    expect((await c.raw('{not json'))['error']).toMatchObject({ code: -32700 });
    expect((await c.raw('[1,2]'))['error']).toMatchObject({ code: -32600 });
    ws.close();
  });

  it('accepts the cookie instead of ?token= (after the page dropped the token from its URL)', async () => {
    const ws = await connect('', { origin: server.origin, headers: { cookie: `mqdesk_token=${server.token}` } });
    expect(ws).toBeInstanceOf(WebSocket);
    (ws as WebSocket).close();
  });

  it('pushes playground:tail events to a subscribed socket, and stops the tail when the socket closes', async () => {
    const ws = (await connect(`?token=${server.token}`, { origin: server.origin })) as WebSocket;
    const c = rpc(ws);
    expect((await c.call('topic:create', { topic: 'WsTail', readQueueNums: 1, writeQueueNums: 1 }))['result']).toEqual({ ok: true });
    expect((await c.call('rpc:subscribe', { topic: 'playground:tail' }))['result']).toEqual({ ok: true });
    expect((await c.call('rpc:subscribe', { topic: 'nope' }))['error']).toMatchObject({ code: -32602 });
    const tail = (await c.call('playground:tail', { topic: 'WsTail' }))['result'] as { tailId: string };
    await c.call('playground:send', { topic: 'WsTail', body: 'pushed' });
    await waitFor(() => c.events.length > 0, 5000, 'a tail event');
    const event = c.events[0] as { params: { topic: string; payload: { tailId: string; messages: Array<{ preview: string }> } } };
    expect(event.params.topic).toBe('playground:tail');
    expect(event.params.payload.tailId).toBe(tail.tailId);
    expect(event.params.payload.messages.map((m) => m.preview)).toEqual(['pushed']);
    expect(service.tails.size).toBe(1);
    ws.close();
    await waitFor(() => service.tails.size === 0, 3000, 'the tail to stop with its socket');
  });
});
