// Origin predicates for navigation, new windows and IPC senders. Pure: no `electron` import, so
// unit tests need no mock. Compare whole origins, never `startsWith` (`app://console.evil` and
// `http://localhost:5173@evil.example` must fail).

/** Scheme and host the packaged renderer is served from (app-protocol.ts). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'console';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * The origin of `url`, or null when it has none we would trust. WHATWG `URL#origin` is the string
 * 'null' for non-special schemes such as `app:`, so build that one by hand.
 */
export function originOf(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === `${APP_SCHEME}:`) {
    if (parsed.username || parsed.password || parsed.port || !parsed.host) return null;
    return `${APP_SCHEME}://${parsed.host.toLowerCase()}`;
  }
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
    if (parsed.username || parsed.password) return null;
    return parsed.origin;
  }
  return null;
}

/**
 * The origins the renderer may live on: `app://console`, plus the electron-vite dev server only
 * when running unpackaged with ELECTRON_RENDERER_URL set.
 */
export function trustedOrigins(devServerUrl: string | undefined, isPackaged: boolean): string[] {
  const origins = [APP_ORIGIN];
  if (!isPackaged && devServerUrl) {
    const devOrigin = originOf(devServerUrl);
    if (devOrigin && devOrigin !== APP_ORIGIN) origins.push(devOrigin);
  }
  return origins;
}

export function isTrustedUrl(url: string, origins: readonly string[]): boolean {
  const origin = originOf(url);
  return origin !== null && origins.includes(origin);
}
