// Electron main process, top to bottom: the only module that imports `electron` (with its helpers
// in src-main/app). It stays thin: window, menu, security hooks, and the embedded cluster's
// lifecycle; console work goes through ipc/handle.ts.
import { app, BrowserWindow, Menu, screen, session, type MenuItemConstructorOptions } from 'electron';
import { join } from 'node:path';
import { startCluster } from '../broker/cluster/cluster.js';
import { handleAppProtocol, registerAppScheme } from './app-protocol.js';
import { ConsoleService } from '../console/service.js';
import { toClusterOptions } from '../console/embedded-settings.js';
import { registerIpcHandlers } from './ipc/handle.js';
import { createSaveDialogPicker } from './export.js';
import { APP_ENTRY_URL, isTrustedUrl, trustedOrigins } from './security/trusted-origin.js';
import { loadWindowState, MIN_HEIGHT, MIN_WIDTH, saveWindowState } from './window-state.js';

type ClusterHandle = Awaited<ReturnType<typeof startCluster>>;

/** Set by `electron-vite dev`; ignored once packaged. */
const DEV_RENDERER_URL = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];
const TRUSTED_ORIGINS = trustedOrigins(DEV_RENDERER_URL, app.isPackaged);
/** Quit must not hang forever on a broker that will not stop. */
const CLUSTER_STOP_TIMEOUT_MS = 15_000;

let mainWindow: BrowserWindow | null = null;
let clusterStart: Promise<ClusterHandle | null> | null = null;
let consoleService: ConsoleService | null = null;
let quitState: 'running' | 'stopping' | 'stopped' = 'running';

registerAppScheme(); // must precede `ready`

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => {
    const refuseForeign = (event: { url: string; preventDefault(): void }): void => {
      if (isTrustedUrl(event.url, TRUSTED_ORIGINS)) return;
      event.preventDefault();
      console.warn('[security] blocked navigation to another origin');
    };
    contents.on('will-navigate', refuseForeign);
    contents.on('will-redirect', refuseForeign);
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.on('before-quit', (event) => {
    if (quitState === 'stopped' || (clusterStart === null && consoleService === null)) return;
    event.preventDefault();
    if (quitState === 'stopping') return;
    quitState = 'stopping';
    void stopCluster().finally(() => {
      quitState = 'stopped';
      app.quit();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createMainWindow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());

  app
    .whenReady()
    .then(onReady)
    .catch((error: unknown) => {
      console.error('[app] startup failed:', error);
      app.exit(1);
    });
}

async function onReady(): Promise<void> {
  // No page needs camera, notifications, clipboard-read…: refuse every permission.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  handleAppProtocol(join(import.meta.dirname, '../renderer'));
  // The console service (saved connections and the embedded settings in NeDB under
  // userData/console) before any window.
  const defaultClusterDir = join(app.getPath('userData'), 'cluster');
  const service = await ConsoleService.create({
    dataDir: join(app.getPath('userData'), 'console'),
    embeddedNamesrvAddr: null,
    mode: 'electron',
    version: app.getVersion(),
    pickExportPath: createSaveDialogPicker(() => mainWindow),
    defaultEmbeddedDataDir: defaultClusterDir,
  });
  consoleService = service;
  registerIpcHandlers({ trustedOrigins: TRUSTED_ORIGINS, service });
  Menu.setApplicationMenu(buildMenu());

  // The settings page's values, saved last time (applied now, at start).
  const settings = service.embeddedSettings.get();
  if (!settings.startOnLaunch) {
    console.log('[cluster] not started: "start on launch" is off in the settings');
    await createMainWindow();
    return;
  }
  clusterStart = startCluster(toClusterOptions(settings, defaultClusterDir)).then(
    (handle) => {
      service.attachEmbedded(handle, { running: settings, defaultDataDir: defaultClusterDir, pinnedByHost: [] });
      console.log(`[cluster] NameServer at ${handle.namesrvAddr}`);
      return handle;
    },
    (error: unknown) => {
      // The console still opens; it can connect to another cluster.
      console.error('[cluster] failed to start:', error);
      return null;
    },
  );
  await createMainWindow();
}

async function createMainWindow(): Promise<void> {
  const stateFile = join(app.getPath('userData'), 'window-state.json');
  const state = await loadWindowState(stateFile, screen.getAllDisplays().map((display) => display.workArea));
  const window = new BrowserWindow({
    ...state.bounds,
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    show: false,
    title: 'MQDesk',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webviewTag: false,
      spellcheck: false,
      // Middle-click (auxclick) would open links in new windows; the window-open handler denies them, this stops them earlier.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  mainWindow = window;
  if (state.maximized) window.maximize();
  window.once('ready-to-show', () => window.show());
  window.on('close', () => {
    try {
      saveWindowState(stateFile, window.getNormalBounds(), window.isMaximized());
    } catch (error) {
      console.warn('[app] could not save window state:', error);
    }
  });
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  await window.loadURL(DEV_RENDERER_URL ?? APP_ENTRY_URL);
}

async function stopCluster(): Promise<void> {
  // Console first: stop tails and compact its NeDB file while the cluster is still up.
  await consoleService?.close().catch((error: unknown) => console.error('[console] close failed:', error));
  const handle = await clusterStart;
  if (!handle) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      console.error(`[cluster] stop timed out after ${CLUSTER_STOP_TIMEOUT_MS} ms; quitting anyway`);
      resolve();
    }, CLUSTER_STOP_TIMEOUT_MS);
  });
  const stopped = handle.stop().catch((error: unknown) => console.error('[cluster] stop failed:', error));
  await Promise.race([stopped, timeout]);
  clearTimeout(timer);
}

function buildMenu(): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' } as const] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}
