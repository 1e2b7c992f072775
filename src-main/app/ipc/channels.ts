// The IPC allow-list shared by the preload and ipc/handle.ts. Pure TypeScript: the preload bundles
// it into its single CommonJS file, so it must import nothing (no zod, no Node built-ins).
// The console issue replaces this with console/contract/channels.ts.

/** The one ipcMain.handle channel; the console channel travels inside it. */
export const INVOKE_IPC_CHANNEL = 'mqdesk:invoke';
/** The one webContents.send channel; carries `{ topic, payload }`. */
export const EVENT_IPC_CHANNEL = 'mqdesk:event';

export const INVOKE_CHANNELS = ['app:info'] as const;
export type InvokeChannel = (typeof INVOKE_CHANNELS)[number];

/** Topics main may push; none yet, so `subscribe` refuses every topic for now. */
export const EVENT_TOPICS: readonly string[] = [];

export function isInvokeChannel(value: unknown): value is InvokeChannel {
  return typeof value === 'string' && (INVOKE_CHANNELS as readonly string[]).includes(value);
}

export function isEventTopic(value: unknown): value is string {
  return typeof value === 'string' && EVENT_TOPICS.includes(value);
}

export interface AppInfo {
  version: string;
  /** `null` until the embedded cluster is up, or when it failed to start. */
  namesrvAddr: string | null;
  mode: 'electron';
}

/** What `window.mqdesk.invoke` resolves to; errors carry no stack and no path. */
export type InvokeResult<T = unknown> =
  | { ok: true; result: T }
  | { ok: false; error: { code: string; message: string } };
