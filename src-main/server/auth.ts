/**
 * Who may talk to the headless console (reliability-security.md §9): a random token (32 bytes,
 * hex) carried as `?token=` on the first page load and on the WebSocket, swapped for an HttpOnly
 * SameSite=Strict cookie; `Host` must be this server's loopback name (DNS rebinding); a WebSocket's
 * `Origin` must be this server's own origin (cross-site WebSocket hijacking).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'mqdesk_token';

export function createToken(): string {
  return randomBytes(32).toString('hex');
}

export function tokensEqual(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

export class ConsoleAuth {
  private port = 0;

  constructor(readonly token: string, private readonly extraHosts: readonly string[] = []) {}

  setPort(port: number): void {
    this.port = port;
  }

  /** `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` (and configured names), lower case. */
  allowedHosts(): Set<string> {
    const names = ['127.0.0.1', 'localhost', '[::1]', ...this.extraHosts];
    return new Set(names.map((n) => `${n.toLowerCase()}:${this.port}`));
  }

  hostAllowed(req: IncomingMessage): boolean {
    const host = req.headers.host?.toLowerCase();
    return host !== undefined && this.allowedHosts().has(host);
  }

  /** The page's own origin: http:// + an allowed host. A missing Origin is refused. */
  originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (typeof origin !== 'string') return false;
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return false;
    }
    return parsed.protocol === 'http:' && parsed.origin === origin.toLowerCase() && this.allowedHosts().has(parsed.host);
  }

  /** `?token=`, the cookie, or `Authorization: Bearer`. */
  tokenFrom(req: IncomingMessage, url: URL): { ok: boolean; viaQuery: boolean } {
    const query = url.searchParams.get('token');
    if (query !== null) return { ok: tokensEqual(this.token, query), viaQuery: true };
    const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
    if (cookie !== null) return { ok: tokensEqual(this.token, cookie), viaQuery: false };
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Bearer ')) return { ok: tokensEqual(this.token, authorization.slice(7).trim()), viaQuery: false };
    return { ok: false, viaQuery: false };
  }

  cookieHeader(): string {
    return `${TOKEN_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
