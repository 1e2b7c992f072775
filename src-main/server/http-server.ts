/**
 * The headless console: serves the built renderer (out/renderer) and the console API over a
 * WebSocket (ws-rpc.ts), on 127.0.0.1 by default. Every response carries the CSP, nosniff,
 * no-referrer and frame denial; every request needs the token (query once, then the cookie) and a
 * loopback Host. GET and HEAD only: the API is the WebSocket, so there is no form to forge.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { createReadStream, existsSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { ConsoleService } from '../console/service.js';
import { ConsoleAuth, createToken } from './auth.js';
import { attachRpc } from './ws-rpc.js';
import { CONTENT_SECURITY_POLICY, CONTENT_TYPES, resolveInside } from './static-files.js';

export interface ConsoleServerOptions {
  service: ConsoleService;
  rendererDir: string;
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  token?: string;
  log?: (line: string) => void;
}

export interface ConsoleServer {
  readonly port: number;
  readonly token: string;
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  /** The URL to print and open: origin + /?token=… */
  readonly url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export function rendererBuilt(rendererDir: string): boolean {
  return existsSync(join(rendererDir, 'index.html'));
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(text);
}

/** RFC 6266: an ASCII fallback and the UTF-8 name. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const root = resolve(options.rendererDir);
  const log = options.log ?? ((line: string) => console.error(line));
  const auth = new ConsoleAuth(options.token ?? createToken());

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!auth.hostAllowed(req)) return plain(res, 403, 'Forbidden: unexpected Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    // A browser sends Origin on cross-origin subresource loads; anything not ours is refused.
    if (req.headers.origin !== undefined && !auth.originAllowed(req)) return plain(res, 403, 'Forbidden: foreign Origin');
    const token = auth.tokenFrom(req, url);
    if (!token.ok) {
      return plain(res, 401, 'Unauthorized: open the Console URL that `mqdesk serve` printed (it carries ?token=…).');
    }
    // A finished browser export (dlq:export, job:receipts-export): streamed as a download.
    const exportMatch = /^\/exports\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
    if (exportMatch) return sendExport(req, res, exportMatch[1]!);
    const file = resolveInside(root, url.pathname);
    if (!file) return plain(res, 404, 'Not found');
    try {
      if (!(await stat(file)).isFile()) return plain(res, 404, 'Not found');
    } catch {
      return plain(res, 404, 'Not found');
    }
    const body = await readFile(file);
    const isHtml = extname(file) === '.html';
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(body.length),
      // Hashed assets may be cached by this browser; the page itself never.
      'Cache-Control': isHtml ? 'no-store' : 'private, max-age=3600',
    };
    if (token.viaQuery) headers['Set-Cookie'] = auth.cookieHeader();
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function sendExport(req: IncomingMessage, res: ServerResponse, jobId: string): Promise<void> {
    const found = await options.service.exportDownload(jobId);
    if (!found) return plain(res, 404, 'Not found');
    const size = (await stat(found.file)).size;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': found.name.endsWith('.csv') ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      'Content-Length': String(size),
      'Content-Disposition': contentDisposition(found.name),
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolveSend) => {
      const stream = createReadStream(found.file);
      stream.on('error', () => {
        res.destroy();
        resolveSend();
      });
      res.on('close', () => {
        stream.destroy();
        resolveSend();
      });
      stream.pipe(res);
    });
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      log(`[console] HTTP ${req.method} failed: ${(error as Error).message}`);
      if (!res.headersSent) plain(res, 500, 'Internal error');
      else res.destroy();
    });
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  const rpc = attachRpc(server, options.service, auth, log);

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  auth.setPort(port);
  const displayHost = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${displayHost}:${port}`;
  return {
    port,
    token: auth.token,
    origin,
    url: `${origin}/?token=${auth.token}`,
    async close() {
      await rpc.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
