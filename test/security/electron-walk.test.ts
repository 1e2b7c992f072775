/**
 * A security walk of the Electron app with the `electron` module replaced (no binary, no display):
 * the real src-main/app/index.ts starts against fakes that record every option and handler, then
 * each is exercised. Window: context isolation, sandbox, no Node, no webview, sandboxed preload,
 * auxclick off. Handlers: navigation and redirects to other origins refused (by origin, not
 * prefix), every new window denied, webviews refused, every permission request and check denied,
 * app:// confined to the renderer folder with the CSP, IPC only from a trusted main frame. The
 * preload exposes exactly { invoke, subscribe }, refuses channels outside the contract, and never
 * hands the IpcRendererEvent to the page. The embedded cluster is replaced too.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import path from 'node:path';
import { tempDir } from '../harness/temp-dir.js';

const dir = tempDir('electron-walk');

type Listener = (...args: unknown[]) => unknown;

const recorded = vi.hoisted(() => ({
  appListeners: new Map<string, Array<(...args: unknown[]) => unknown>>(),
  windows: [] as Array<{ options: Record<string, unknown>; loaded: string[] }>,
  permissionRequest: null as null | ((...args: unknown[]) => unknown),
  permissionCheck: null as null | ((...args: unknown[]) => unknown),
  protocolHandlers: new Map<string, (request: Request) => Promise<Response>>(),
  privileged: [] as unknown[],
  ipcHandlers: new Map<string, (...args: unknown[]) => unknown>(),
  exposed: new Map<string, Record<string, unknown>>(),
  rendererListeners: new Map<string, (...args: unknown[]) => unknown>(),
  invoked: [] as unknown[][],
  quit: 0,
  userData: '',
  clusterStarted: [] as unknown[],
}));

vi.mock('electron', () => {
  class FakeWindow {
    loaded: string[] = [];
    constructor(readonly options: Record<string, unknown>) {
      recorded.windows.push(this);
    }
    maximize(): void {}
    once(): void {}
    on(): void {}
    show(): void {}
    isMaximized(): boolean {
      return false;
    }
    getNormalBounds() {
      return { x: 0, y: 0, width: 1280, height: 800 };
    }
    async loadURL(url: string): Promise<void> {
      this.loaded.push(url);
    }
    static getAllWindows(): unknown[] {
      return recorded.windows;
    }
  }
  const app = {
    isPackaged: true,
    requestSingleInstanceLock: () => true,
    on: (event: string, fn: (...args: unknown[]) => unknown) => {
      const list = recorded.appListeners.get(event) ?? [];
      list.push(fn);
      recorded.appListeners.set(event, list);
    },
    whenReady: () => Promise.resolve(),
    getPath: (name: string) => path.join(recorded.userData, name),
    getVersion: () => '9.9.9',
    quit: () => {
      recorded.quit++;
    },
    exit: () => undefined,
  };
  return {
    app,
    BrowserWindow: FakeWindow,
    Menu: { setApplicationMenu: () => undefined, buildFromTemplate: (t: unknown) => t },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: (...args: unknown[]) => unknown) => (recorded.permissionRequest = fn),
        setPermissionCheckHandler: (fn: (...args: unknown[]) => unknown) => (recorded.permissionCheck = fn),
      },
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown) => recorded.privileged.push(schemes),
      handle: (scheme: string, fn: (request: Request) => Promise<Response>) => recorded.protocolHandlers.set(scheme, fn),
    },
    ipcMain: { handle: (channel: string, fn: (...args: unknown[]) => unknown) => recorded.ipcHandlers.set(channel, fn) },
    dialog: { showSaveDialog: async () => ({ canceled: true }) },
    contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => recorded.exposed.set(key, api) },
    ipcRenderer: {
      on: (channel: string, fn: (...args: unknown[]) => unknown) => recorded.rendererListeners.set(channel, fn),
      invoke: async (...args: unknown[]) => {
        recorded.invoked.push(args);
        return { ok: true, result: null };
      },
    },
  };
});

vi.mock('../../src-main/broker/cluster/cluster.js', () => ({
  startCluster: async (options: unknown) => {
    recorded.clusterStarted.push(options);
    return {
      namesrvAddr: '127.0.0.1:1', events: [], nodes: () => [], namesrvNodes: () => [],
      stopNode: async () => undefined, killNode: async () => undefined, restartNode: async () => undefined, promote: async () => ({}),
      stop: async () => undefined,
    };
  },
}));

recorded.userData = dir.path;
await import('../../src-main/app/index.js');
// onReady runs after whenReady resolves: let it finish (service, IPC, window).
for (let i = 0; i < 200 && recorded.windows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
const { INVOKE_IPC_CHANNEL, EVENT_IPC_CHANNEL } = await import('../../src-main/app/ipc/channels.js');

afterAll(async () => {
  // Quit: before-quit stops the console service (compacts its NeDB files) and the fake cluster.
  const event = { preventDefault: vi.fn() };
  for (const fn of recorded.appListeners.get('before-quit') ?? []) fn(event);
  for (let i = 0; i < 200 && recorded.quit === 0; i++) await new Promise((r) => setTimeout(r, 10));
  dir.remove();
});

function fakeContents() {
  const listeners = new Map<string, Listener>();
  let openHandler: Listener | null = null;
  return {
    listeners,
    on: (event: string, fn: Listener) => listeners.set(event, fn),
    setWindowOpenHandler: (fn: Listener) => (openHandler = fn),
    openHandler: () => openHandler,
  };
}

describe('Electron main process, walked with electron replaced', () => {
  it('opens one window with the hardened webPreferences and loads app://console', () => {
    expect(recorded.windows).toHaveLength(1);
    const w = recorded.windows[0]!;
    const prefs = w.options['webPreferences'] as Record<string, unknown>;
    expect(prefs).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true, webviewTag: false, disableBlinkFeatures: 'Auxclick' });
    expect(prefs['nodeIntegrationInWorker']).not.toBe(true);
    expect(prefs['webSecurity']).not.toBe(false);
    expect(prefs['allowRunningInsecureContent']).not.toBe(true);
    expect(prefs['experimentalFeatures']).not.toBe(true);
    expect(String(prefs['preload'])).toMatch(/preload[\\/]index\.cjs$/);
    expect(w.options['show']).toBe(false); // shown on ready-to-show
    expect(w.loaded).toEqual(['app://console/index.html']);
    expect(recorded.clusterStarted).toHaveLength(1);
  });

  it('refuses navigation and redirects to other origins, compared by origin', () => {
    const contents = fakeContents();
    for (const fn of recorded.appListeners.get('web-contents-created') ?? []) fn({}, contents);
    for (const event of ['will-navigate', 'will-redirect']) {
      const handler = contents.listeners.get(event)!;
      expect(handler, event).toBeDefined();
      for (const url of ['https://evil.example/', 'app://console.evil/index.html', 'app://console@evil/x', 'file:///etc/passwd', 'http://localhost:5173/', 'javascript:alert(1)']) {
        const e = { url, preventDefault: vi.fn() };
        handler(e);
        expect(e.preventDefault, `${event} ${url}`).toHaveBeenCalled();
      }
      const own = { url: 'app://console/index.html#/topics', preventDefault: vi.fn() };
      handler(own);
      expect(own.preventDefault).not.toHaveBeenCalled();
    }
  });

  it('denies every new window and refuses webviews', () => {
    const contents = fakeContents();
    for (const fn of recorded.appListeners.get('web-contents-created') ?? []) fn({}, contents);
    for (const url of ['https://example.com', 'app://console/index.html']) expect(contents.openHandler()!({ url })).toEqual({ action: 'deny' });
    const attach = { preventDefault: vi.fn() };
    contents.listeners.get('will-attach-webview')!(attach);
    expect(attach.preventDefault).toHaveBeenCalled();
  });

  it('denies every permission request and check', () => {
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      const callback = vi.fn();
      recorded.permissionRequest!({}, permission, callback, {});
      expect(callback, permission).toHaveBeenCalledWith(false);
      expect(recorded.permissionCheck!({}, permission, 'app://console', {}), permission).toBe(false);
    }
  });

  it('serves app:// only from the renderer folder, with the CSP, and registers it as a standard secure scheme', async () => {
    expect(JSON.stringify(recorded.privileged)).toContain('"secure":true');
    const handler = recorded.protocolHandlers.get('app')!;
    expect(handler).toBeDefined();
    for (const url of ['app://console/../../../etc/passwd', 'app://console/%2e%2e/%2e%2e/etc/passwd', 'app://other/index.html']) {
      const res = await handler(new Request(url));
      expect(res.status, url).toBe(404);
      expect(res.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    }
  });

  it('has exactly one IPC handler, and it answers only a trusted main frame', async () => {
    expect([...recorded.ipcHandlers.keys()]).toEqual([INVOKE_IPC_CHANNEL]);
    const handler = recorded.ipcHandlers.get(INVOKE_IPC_CHANNEL)!;
    const sender = { isDestroyed: () => false, send: vi.fn(), once: vi.fn() };
    const from = (url: string, parent: unknown = null) => ({ senderFrame: { url, parent }, sender });
    for (const [url, parent] of [['https://evil.example/', null], ['app://console/index.html', {}], ['file:///x', null], ['http://localhost:5173/', null]] as const) {
      expect(await handler(from(url, parent), 'app:info', {}), url).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: 'Sender not allowed' } });
    }
    expect(await handler({ senderFrame: null, sender }, 'app:info', {})).toMatchObject({ ok: false });
    expect(await handler(from('app://console/index.html'), 'app:info', {})).toEqual({ ok: true, result: { version: '9.9.9', mode: 'electron', namesrvAddr: '127.0.0.1:1' } });
    expect(await handler(from('app://console/index.html'), 'shell:exec', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    expect(await handler(from('app://console/index.html'), 'topic:create', { topic: 'x y' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('applies the saved embedded settings when it starts the cluster', () => {
    expect(recorded.clusterStarted[0]).toMatchObject({ namesrvPort: 9876, brokerGroups: ['broker-a', 'broker-b'], flushMode: 'ASYNC', dataDir: path.join(dir.path, 'userData', 'cluster') });
  });
});

describe('preload, with electron replaced', () => {
  it('exposes exactly invoke and subscribe as window.mqdesk', async () => {
    await import('../../src-main/app/preload/index.js');
    expect([...recorded.exposed.keys()]).toEqual(['mqdesk']);
    expect(Object.keys(recorded.exposed.get('mqdesk')!).sort()).toEqual(['invoke', 'subscribe']);
  });

  it('invoke refuses channels outside the contract and passes listed ones on the one IPC channel', async () => {
    const api = recorded.exposed.get('mqdesk') as { invoke(c: unknown, r?: unknown): Promise<unknown> };
    await expect(api.invoke('shell:exec', {})).rejects.toThrow(/not allowed/);
    await expect(api.invoke({ toString: () => 'app:info' }, {})).rejects.toThrow(/not allowed/);
    await api.invoke('topic:list', { query: 'x' });
    expect(recorded.invoked.at(-1)).toEqual([INVOKE_IPC_CHANNEL, 'topic:list', { query: 'x' }]);
  });

  it('subscribe delivers only the payload (never the IpcRendererEvent), and only for listed topics', () => {
    const api = recorded.exposed.get('mqdesk') as { subscribe(t: unknown, cb: unknown): () => void };
    expect(() => api.subscribe('evil:topic', () => undefined)).toThrow(/not allowed/);
    expect(() => api.subscribe('playground:tail', 'not a function')).toThrow();
    const got: unknown[][] = [];
    const unsubscribe = api.subscribe('playground:tail', (...args: unknown[]) => got.push(args));
    const fire = recorded.rendererListeners.get(EVENT_IPC_CHANNEL)!;
    const ipcEvent = { sender: { send: () => undefined }, senderFrame: {} };
    fire(ipcEvent, { topic: 'playground:tail', payload: { tailId: 't', messages: [], error: null } });
    fire(ipcEvent, { topic: 'job:progress', payload: {} });
    fire(ipcEvent, 'junk');
    expect(got).toEqual([[{ tailId: 't', messages: [], error: null }]]);
    unsubscribe();
    fire(ipcEvent, { topic: 'playground:tail', payload: 2 });
    expect(got).toHaveLength(1);
  });
});
