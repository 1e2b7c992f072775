// Typed functions over the transport main.ts installed. Stores call these; views call stores.
import type { AppInfo, Transport, TransportKind, TransportStatus } from '../transport/transport';

let transport: Transport | null = null;

export function installTransport(chosen: Transport): void {
  transport = chosen;
}

function current(): Transport {
  if (!transport) throw new Error('No transport installed; main.ts installs one before mounting');
  return transport;
}

export const api = {
  connection: {
    kind: (): TransportKind => current().kind,
    onStatus: (cb: (status: TransportStatus) => void): (() => void) => current().onStatus(cb),
  },
  app: {
    info: (): Promise<AppInfo> => current().call('app:info', undefined),
  },
};
