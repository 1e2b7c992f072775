// The renderer's one door to the console service. Two implementations: ipc-transport.ts
// (Electron, through the preload's window.mqdesk) and ws-transport.ts (a browser talking JSON-RPC
// to the headless server). main.ts picks one; nothing else imports a transport.

export type TransportKind = 'ipc' | 'ws';
export type TransportStatus = 'connecting' | 'connected' | 'disconnected';

export interface AppInfo {
  version: string;
  /** `null` until the embedded cluster is up, or when it failed to start. */
  namesrvAddr: string | null;
  mode: 'electron' | 'headless';
}

/**
 * Channel → request and response types. A stand-in until the console issue adds the shared
 * contract (src-main/console/contract), which both hosts validate with zod.
 */
export interface Channels {
  'app:info': { req: Record<string, never> | undefined; res: AppInfo };
}
export type Channel = keyof Channels;

export interface Transport {
  readonly kind: TransportKind;
  /** Resolves with the result or rejects with a TransportError. */
  call<C extends Channel>(channel: C, req: Channels[C]['req']): Promise<Channels[C]['res']>;
  /** `cb(payload)` per event on `topic`; returns the unsubscribe function. */
  subscribe(topic: string, cb: (payload: unknown) => void): () => void;
  /** Calls `cb` now with the current status and on every change; returns the unsubscribe function. */
  onStatus(cb: (status: TransportStatus) => void): () => void;
}

/** A failure the page can show: a stable code and a message with no stack or path. */
export class TransportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
