/** The headless console's access checks (server/auth.ts): token, Host, Origin, cookie parsing. */
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { ConsoleAuth, cookieValue, createToken, tokensEqual } from '../../../src-main/server/auth.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers } as unknown as IncomingMessage);

describe('console auth', () => {
  const auth = new ConsoleAuth(createToken());
  auth.setPort(8080);

  it('makes 32-byte hex tokens and compares them in constant time', () => {
    expect(auth.token).toMatch(/^[0-9a-f]{64}$/);
    expect(createToken()).not.toBe(auth.token);
    expect(tokensEqual(auth.token, auth.token)).toBe(true);
    expect(tokensEqual(auth.token, auth.token.slice(1))).toBe(false);
    expect(tokensEqual(auth.token, null)).toBe(false);
  });

  it('allows only loopback names on our port as Host', () => {
    expect(auth.hostAllowed(req({ host: '127.0.0.1:8080' }))).toBe(true);
    expect(auth.hostAllowed(req({ host: 'LOCALHOST:8080' }))).toBe(true);
    expect(auth.hostAllowed(req({ host: '[::1]:8080' }))).toBe(true);
    expect(auth.hostAllowed(req({ host: '127.0.0.1:8081' }))).toBe(false);
    expect(auth.hostAllowed(req({ host: 'attacker.example:8080' }))).toBe(false);
    expect(auth.hostAllowed(req({}))).toBe(false);
  });

  it('allows only our own http origin, compared whole (never by prefix)', () => {
    expect(auth.originAllowed(req({ origin: 'http://127.0.0.1:8080' }))).toBe(true);
    expect(auth.originAllowed(req({ origin: 'http://localhost:8080' }))).toBe(true);
    for (const origin of ['http://127.0.0.1:8080.evil.example', 'https://127.0.0.1:8080', 'http://127.0.0.1:80', 'null',
      'http://127.0.0.1:8080/path', 'http://user@127.0.0.1:8080', 'file://', '']) {
      expect(auth.originAllowed(req({ origin })), origin).toBe(false);
    }
    expect(auth.originAllowed(req({}))).toBe(false);
  });

  it('reads the token from the query, then the cookie, then a Bearer header', () => {
    const url = (q: string) => new URL(`http://127.0.0.1:8080/${q}`);
    expect(auth.tokenFrom(req({}), url(`?token=${auth.token}`))).toEqual({ ok: true, viaQuery: true });
    expect(auth.tokenFrom(req({ cookie: `a=1; mqdesk_token=${auth.token}` }), url(''))).toEqual({ ok: true, viaQuery: false });
    expect(auth.tokenFrom(req({ authorization: `Bearer ${auth.token}` }), url(''))).toEqual({ ok: true, viaQuery: false });
    expect(auth.tokenFrom(req({ cookie: `mqdesk_token=${auth.token}` }), url('?token=wrong')).ok).toBe(false);
    expect(auth.tokenFrom(req({}), url('')).ok).toBe(false);
    expect(auth.cookieHeader()).toBe(`mqdesk_token=${auth.token}; HttpOnly; SameSite=Strict; Path=/`);
  });

  it('parses cookies', () => {
    expect(cookieValue('a=1; b=2', 'b')).toBe('2');
    expect(cookieValue('ab=1', 'b')).toBeNull();
    expect(cookieValue(undefined, 'b')).toBeNull();
  });
});
