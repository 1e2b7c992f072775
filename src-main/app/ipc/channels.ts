// The IPC allow-list shared by the preload and ipc/handle.ts. The preload bundles this into its
// single CommonJS file, so it imports only the pure channel list of the console contract (no zod,
// no Node built-ins).
export { CHANNELS as INVOKE_CHANNELS, EVENT_TOPICS, isChannel as isInvokeChannel, isEventTopic } from '../../console/contract/channels.js';
export type { Channel as InvokeChannel, EventTopic } from '../../console/contract/channels.js';
export type { AppInfo } from '../../console/contract/dto.js';
export type { DispatchResult as InvokeResult } from '../../console/contract/errors.js';

/** The one ipcMain.handle channel; the console channel travels inside it. */
export const INVOKE_IPC_CHANNEL = 'mqdesk:invoke';
/** The one webContents.send channel; carries `{ topic, payload }`. */
export const EVENT_IPC_CHANNEL = 'mqdesk:event';
