// Browser host: JSON-RPC 2.0 over a WebSocket to the headless server at /rpc?token=….
//
// Wire contract the server implements (src-main/server, console issue):
//   request       → {"jsonrpc":"2.0","id":7,"method":"app:info","params":{}}
//   result        ← {"jsonrpc":"2.0","id":7,"result":{…}}
//   error         ← {"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"…","data":{"code":"NOT_FOUND"}}}
//   subscriptions → methods "rpc:subscribe" / "rpc:unsubscribe" with params {"topic":"…"}
//   event         ← {"jsonrpc":"2.0","method":"event","params":{"topic":"…","payload":…}}
import { TransportError, type Channel, type Channels, type Transport, type TransportStatus } from './transport';

const CALL_TIMEOUT_MS = 30_000;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: TransportError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Reads the one-time `?token=` the server printed, then drops it from the address bar and history
 * (reliability-security.md §9). Kept in memory only.
 */
export function takeTokenFromLocation(): string | null {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return null;
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', url.toString());
  return token;
}

/** ws(s)://<this host>/rpc[?token=…], or null when the page was not served over HTTP. */
export function rpcUrl(location: Location, token: string | null): string | null {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return null;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${location.host}/rpc${query}`;
}

export function createWsTransport(options: { token: string | null }): Transport {
  const url = rpcUrl(window.location, options.token);
  const pending = new Map<number, Pending>();
  const topics = new Map<string, Set<(payload: unknown) => void>>();
  const statusListeners = new Set<(status: TransportStatus) => void>();
  let status: TransportStatus = url ? 'connecting' : 'disconnected';
  let socket: WebSocket | null = null;
  let nextId = 1;
  let reconnectDelay = RECONNECT_MIN_MS;

  function setStatus(next: TransportStatus): void {
    if (next === status) return;
    status = next;
    for (const listener of statusListeners) listener(next);
  }

  function send(method: string, params: unknown): Promise<unknown> {
    if (!socket || status !== 'connected') {
      return Promise.reject(new TransportError('NOT_CONNECTED', 'Not connected to the MQDesk server'));
    }
    const id = nextId++;
    const open = socket;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new TransportError('TIMEOUT', `${method} timed out`));
      }, CALL_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      open.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: params ?? {} }));
    });
  }

  function onMessage(text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof message['id'] === 'number') {
      const entry = pending.get(message['id']);
      if (!entry) return;
      pending.delete(message['id']);
      clearTimeout(entry.timer);
      const error = message['error'] as { code?: unknown; message?: unknown; data?: { code?: unknown } } | undefined;
      if (error) entry.reject(new TransportError(String(error.data?.code ?? error.code), String(error.message)));
      else entry.resolve(message['result']);
    } else if (message['method'] === 'event') {
      const params = message['params'] as { topic?: unknown; payload?: unknown } | undefined;
      if (typeof params?.topic !== 'string') return;
      for (const cb of topics.get(params.topic) ?? []) cb(params.payload);
    }
  }

  function connect(): void {
    if (!url) return;
    setStatus('connecting');
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      reconnectDelay = RECONNECT_MIN_MS;
      setStatus('connected');
      for (const topic of topics.keys()) send('rpc:subscribe', { topic }).catch(() => {});
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') onMessage(event.data);
    };
    // A failed handshake fires `error` then `close`; `close` does the cleanup.
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      for (const [id, entry] of pending) {
        clearTimeout(entry.timer);
        entry.reject(new TransportError('DISCONNECTED', 'Connection to the MQDesk server closed'));
        pending.delete(id);
      }
      setStatus('disconnected');
      setTimeout(connect, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
    };
  }

  connect();

  return {
    kind: 'ws',
    call<C extends Channel>(channel: C, req: Channels[C]['req']): Promise<Channels[C]['res']> {
      return send(channel, req) as Promise<Channels[C]['res']>;
    },
    subscribe(topic, cb) {
      const set = topics.get(topic) ?? new Set();
      if (set.size === 0 && status === 'connected') send('rpc:subscribe', { topic }).catch(() => {});
      set.add(cb);
      topics.set(topic, set);
      return () => {
        set.delete(cb);
        if (set.size > 0) return;
        topics.delete(topic);
        if (status === 'connected') send('rpc:unsubscribe', { topic }).catch(() => {});
      };
    },
    onStatus(cb) {
      statusListeners.add(cb);
      cb(status);
      return () => statusListeners.delete(cb);
    },
  };
}
