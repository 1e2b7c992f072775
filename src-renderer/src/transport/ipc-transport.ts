// Electron host: wraps the preload's `window.mqdesk` (src-main/app/preload/index.ts).
import { TransportError, type Channel, type Channels, type Transport } from './transport';

/** What the preload exposes with contextBridge; the IPC link is up for the page's lifetime. */
export interface MqdeskBridge {
  invoke(channel: string, req?: unknown): Promise<unknown>;
  subscribe(topic: string, cb: (payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    mqdesk?: MqdeskBridge;
  }
}

type InvokeResult = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

function isInvokeResult(value: unknown): value is InvokeResult {
  if (typeof value !== 'object' || value === null || !('ok' in value)) return false;
  if (value.ok === true) return 'result' in value;
  const error = (value as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && 'code' in error && 'message' in error;
}

export function createIpcTransport(bridge: MqdeskBridge): Transport {
  return {
    kind: 'ipc',
    async call<C extends Channel>(channel: C, req: Channels[C]['req']): Promise<Channels[C]['res']> {
      let reply: unknown;
      try {
        reply = await bridge.invoke(channel, req);
      } catch (error) {
        throw new TransportError('IPC_FAILED', error instanceof Error ? error.message : String(error));
      }
      if (!isInvokeResult(reply)) throw new TransportError('BAD_REPLY', 'Malformed reply from the main process');
      if (!reply.ok) throw new TransportError(String(reply.error.code), String(reply.error.message));
      return reply.result as Channels[C]['res'];
    },
    subscribe: (topic, cb) => bridge.subscribe(topic, cb),
    onStatus(cb) {
      cb('connected');
      return () => {};
    },
  };
}
