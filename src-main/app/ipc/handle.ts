// The only ipcMain.handle in MQDesk. Every invoke arrives on one IPC channel carrying a console
// channel name; this checks the sender frame, checks the channel and its request, calls the
// handler, and answers with an InvokeResult whose errors carry no stack and no path.
import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { z } from 'zod';
import {
  INVOKE_IPC_CHANNEL,
  isInvokeChannel,
  type AppInfo,
  type InvokeChannel,
  type InvokeResult,
} from './channels.js';
import { isTrustedUrl } from '../security/trusted-origin.js';

export interface IpcHandlerDeps {
  /** Origins a sender frame may have (security/trusted-origin.ts). */
  trustedOrigins: readonly string[];
  getAppInfo(): AppInfo;
}

/** Requests per channel; `.strict()` so unknown fields are refused, not ignored. */
const REQUEST_SCHEMAS = {
  'app:info': z.union([z.undefined(), z.object({}).strict()]),
} satisfies Record<InvokeChannel, z.ZodType>;

function failure(code: string, message: string): InvokeResult<never> {
  return { ok: false, error: { code, message } };
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
  const handlers: { [C in InvokeChannel]: (req: z.infer<(typeof REQUEST_SCHEMAS)[C]>) => Promise<unknown> } = {
    'app:info': async () => deps.getAppInfo(),
  };

  ipcMain.handle(INVOKE_IPC_CHANNEL, async (event, channel: unknown, req: unknown): Promise<InvokeResult> => {
    if (!isTrustedSender(event, deps.trustedOrigins)) {
      console.warn('[ipc] refused an invoke from an untrusted frame');
      return failure('FORBIDDEN', 'Sender not allowed');
    }
    if (!isInvokeChannel(channel)) return failure('UNKNOWN_CHANNEL', 'Unknown channel');
    const parsed = REQUEST_SCHEMAS[channel].safeParse(req);
    if (!parsed.success) return failure('BAD_REQUEST', 'Invalid request');
    try {
      return { ok: true, result: await handlers[channel](parsed.data) };
    } catch (error) {
      // Log the detail here; the renderer only learns that it failed.
      console.error(`[ipc] ${channel} failed:`, error);
      return failure('INTERNAL', 'Internal error');
    }
  });
}
