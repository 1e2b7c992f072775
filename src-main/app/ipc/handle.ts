// The only ipcMain.handle in MQDesk. Every invoke arrives on one IPC channel carrying a console
// channel name; this checks the sender frame, then hands the channel and request to the console
// service's dispatch (the same schemas and handlers the headless WebSocket uses), which answers
// `{ ok, result } | { ok: false, error: { code, message } }` with no stack and no path.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { EVENT_IPC_CHANNEL, INVOKE_IPC_CHANNEL, type InvokeResult } from './channels.js';
import { isTrustedUrl } from '../security/trusted-origin.js';
import type { ConsoleService } from '../../console/service.js';
import type { Session } from '../../console/dispatch.js';
import { localUser } from '../../console/audit.js';

export interface IpcHandlerDeps {
  /** Origins a sender frame may have (security/trusted-origin.ts). */
  trustedOrigins: readonly string[];
  service: Pick<ConsoleService, 'dispatch' | 'openSession' | 'closeSession'>;
}

/**
 * The sender must be a live main frame (not an iframe) on a trusted origin. `frame.url` is parsed
 * with trusted-origin.ts because WHATWG gives non-special schemes such as app: the origin 'null'.
 */
export function isTrustedSender(event: IpcMainInvokeEvent, trustedOrigins: readonly string[]): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return isTrustedUrl(frame.url, trustedOrigins);
}

export function registerIpcHandlers(deps: IpcHandlerDeps): void {
  // One console session per page; its live tails stop when the page goes.
  const sessions = new WeakMap<WebContents, Session>();
  const sessionFor = (contents: WebContents): Session => {
    const existing = sessions.get(contents);
    if (existing) return existing;
    const session = deps.service.openSession((topic, payload) => {
      if (!contents.isDestroyed()) contents.send(EVENT_IPC_CHANNEL, { topic, payload });
    }, `${localUser()} (desktop)`);
    sessions.set(contents, session);
    contents.once('destroyed', () => deps.service.closeSession(session));
    return session;
  };

  ipcMain.handle(INVOKE_IPC_CHANNEL, async (event, channel: unknown, req: unknown): Promise<InvokeResult> => {
    if (!isTrustedSender(event, deps.trustedOrigins)) {
      console.warn('[ipc] refused an invoke from an untrusted frame');
      return { ok: false, error: { code: 'FORBIDDEN', message: 'Sender not allowed' } };
    }
    return deps.service.dispatch(channel, req, sessionFor(event.sender));
  });
}
