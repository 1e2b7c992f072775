// Serves the built renderer as app://console/… (never file://). Every response carries the CSP;
// a request whose decoded path leaves the renderer folder gets 404.
import { protocol } from 'electron';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { CONTENT_SECURITY_POLICY, CONTENT_TYPES, resolveInside } from '../server/static-files.js';
import { APP_HOST, APP_SCHEME } from './security/trusted-origin.js';

export { CONTENT_SECURITY_POLICY, resolveInside };

/** Must run before `app` is ready. `standard` gives the scheme real origins; `secure` a secure context. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

function textResponse(status: number, text: string): Response {
  return new Response(text, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
  });
}

export function handleAppProtocol(rendererRoot: string): void {
  const root = resolve(rendererRoot);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST || request.method !== 'GET') return textResponse(404, 'Not found');
    const file = resolveInside(root, url.pathname);
    if (!file) return textResponse(404, 'Not found');
    try {
      if (!(await stat(file)).isFile()) return textResponse(404, 'Not found');
      const body = await readFile(file);
      return new Response(body, {
        status: 200,
        headers: {
          'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'Content-Security-Policy': CONTENT_SECURITY_POLICY,
          'X-Content-Type-Options': 'nosniff',
        },
      });
    } catch {
      return textResponse(404, 'Not found');
    }
  });
}
