// Typed functions over the transport main.ts installed, one module per domain. Stores call these;
// views call stores. Nothing else touches the transport.
import type { Channel, Channels, Transport, TransportKind, TransportStatus } from '../transport/transport';
import type { EventTopic } from '../../../src-main/console/contract/channels';
import type { Events } from '../../../src-main/console/contract/contract';

let transport: Transport | null = null;

export function installTransport(chosen: Transport): void {
  transport = chosen;
}

function current(): Transport {
  if (!transport) throw new Error('No transport installed; main.ts installs one before mounting');
  return transport;
}

export function call<C extends Channel>(channel: C, req: Channels[C]['req']): Promise<Channels[C]['res']> {
  return current().call(channel, req);
}

export function subscribe<T extends EventTopic>(topic: T, cb: (payload: Events[T]) => void): () => void {
  return current().subscribe(topic, (payload) => cb(payload as Events[T]));
}

export const transportInfo = {
  kind: (): TransportKind => current().kind,
  onStatus: (cb: (status: TransportStatus) => void): (() => void) => current().onStatus(cb),
};
