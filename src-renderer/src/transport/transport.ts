// The renderer's one door to the console service. Two implementations: ipc-transport.ts
// (Electron, through the preload's window.mqdesk) and ws-transport.ts (a browser talking JSON-RPC
// to the headless server). main.ts picks one; nothing else imports a transport.
import type { Channel } from '../../../src-main/console/contract/channels';
import type { ChannelMap } from '../../../src-main/console/contract/contract';

export type TransportKind = 'ipc' | 'ws';
export type TransportStatus = 'connecting' | 'connected' | 'disconnected';

export type { AppInfo } from '../../../src-main/console/contract/dto';
export type { Channel } from '../../../src-main/console/contract/channels';

/** Channel → request and response types: the console contract both hosts validate with zod. */
export type Channels = ChannelMap;

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
