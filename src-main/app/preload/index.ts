// Sandboxed preload, bundled into one CommonJS file (out/preload/index.cjs). Exposes exactly
// `window.mqdesk = { invoke, subscribe }`; never ipcRenderer, never the IpcRendererEvent.
import { contextBridge, ipcRenderer } from 'electron';
import { EVENT_IPC_CHANNEL, INVOKE_IPC_CHANNEL, isEventTopic, isInvokeChannel } from '../ipc/channels.js';

type Listener = (payload: unknown) => void;
const listeners = new Map<string, Set<Listener>>();

ipcRenderer.on(EVENT_IPC_CHANNEL, (_event, message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const { topic, payload } = message as { topic?: unknown; payload?: unknown };
  if (typeof topic !== 'string') return;
  for (const listener of listeners.get(topic) ?? []) {
    try {
      listener(payload);
    } catch (error) {
      console.error('[mqdesk] subscriber failed', error);
    }
  }
});

contextBridge.exposeInMainWorld('mqdesk', {
  /** Resolves to `{ ok: true, result } | { ok: false, error: { code, message } }`. */
  invoke(channel: unknown, req?: unknown): Promise<unknown> {
    if (!isInvokeChannel(channel)) return Promise.reject(new Error(`Channel not allowed: ${String(channel)}`));
    return ipcRenderer.invoke(INVOKE_IPC_CHANNEL, channel, req);
  },
  /** Calls `cb(payload)` per event on `topic`; returns the unsubscribe function. */
  subscribe(topic: unknown, cb: unknown): () => void {
    if (!isEventTopic(topic)) throw new Error(`Topic not allowed: ${String(topic)}`);
    if (typeof cb !== 'function') throw new Error('Callback must be a function');
    const listener = cb as Listener;
    const set = listeners.get(topic) ?? new Set<Listener>();
    set.add(listener);
    listeners.set(topic, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) listeners.delete(topic);
    };
  },
});
