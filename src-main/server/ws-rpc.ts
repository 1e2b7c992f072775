/**
 * WebSocket JSON-RPC 2.0 at /rpc, the headless transport of the console contract. The wire format
 * is the one src-renderer/src/transport/ws-transport.ts documents:
 *   request  → {"jsonrpc":"2.0","id":7,"method":"topic:list","params":{…}}
 *   result   ← {"jsonrpc":"2.0","id":7,"result":{…}}
 *   error    ← {"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"…","data":{"code":"NOT_FOUND"}}}
 *   methods "rpc:subscribe" / "rpc:unsubscribe" with {"topic":"…"}; events
 *   ← {"jsonrpc":"2.0","method":"event","params":{"topic":"…","payload":…}}
 * The upgrade is checked (path, Host, Origin, token) before the handshake; a refusal is a plain
 * HTTP 401/403 and the socket is closed.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isEventTopic, type EventTopic } from '../console/contract/channels.js';
import type { ConsoleService } from '../console/service.js';
import type { ConsoleAuth } from './auth.js';
import { localUser } from '../console/audit.js';

/** Bigger than the largest Playground body (4 MiB of text, as JSON) with room to spare. */
export const MAX_RPC_PAYLOAD = 16 * 1024 * 1024;
/** Events are dropped for a page that reads slower than this backlog. */
const MAX_EVENT_BACKLOG = 8 * 1024 * 1024;

export const JsonRpcError = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  SERVER_ERROR: -32000,
} as const;

function refuse(socket: Duplex, status: 401 | 403 | 404, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  socket.destroy();
}

export interface RpcAttachment {
  close(): Promise<void>;
  readonly clients: number;
}

export function attachRpc(server: Server, service: ConsoleService, auth: ConsoleAuth, log: (line: string) => void): RpcAttachment {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_RPC_PAYLOAD, perMessageDeflate: false });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/rpc') return refuse(socket, 404, 'Not Found');
    if (!auth.hostAllowed(req)) return refuse(socket, 403, 'Forbidden');
    if (!auth.originAllowed(req)) {
      log(`[console] refused a WebSocket from origin ${String(req.headers.origin ?? '(none)').slice(0, 100)}`);
      return refuse(socket, 403, 'Forbidden');
    }
    if (!auth.tokenFrom(req, url).ok) return refuse(socket, 401, 'Unauthorized');
    const from = req.socket.remoteAddress ?? 'unknown';
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, from));
  });

  function onConnection(ws: WebSocket, remoteAddress: string): void {
    const topics = new Set<EventTopic>();
    const send = (message: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const session = service.openSession((topic, payload) => {
      if (!topics.has(topic) || ws.bufferedAmount > MAX_EVENT_BACKLOG) return;
      send({ jsonrpc: '2.0', method: 'event', params: { topic, payload } });
    }, `${localUser()} (web console from ${remoteAddress.replace(/^::ffff:/, '')})`);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return send({ jsonrpc: '2.0', id: null, error: { code: JsonRpcError.INVALID_REQUEST, message: 'Binary frames are not accepted' } });
      void handle(data.toString());
    });
    ws.on('close', () => service.closeSession(session));
    ws.on('error', () => ws.terminate());

    async function handle(text: string): Promise<void> {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        return send({ jsonrpc: '2.0', id: null, error: { code: JsonRpcError.PARSE_ERROR, message: 'Parse error' } });
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) {
        return send({ jsonrpc: '2.0', id: null, error: { code: JsonRpcError.INVALID_REQUEST, message: 'Invalid request' } });
      }
      const { id, method, params, jsonrpc } = message as Record<string, unknown>;
      const validId = typeof id === 'number' || typeof id === 'string';
      if (jsonrpc !== '2.0' || typeof method !== 'string' || (!validId && id !== undefined)) {
        return send({ jsonrpc: '2.0', id: validId ? id : null, error: { code: JsonRpcError.INVALID_REQUEST, message: 'Invalid request' } });
      }
      const reply = (body: Record<string, unknown>): void => {
        if (validId) send({ jsonrpc: '2.0', id, ...body }); // a notification (no id) gets no answer
      };
      if (method === 'rpc:subscribe' || method === 'rpc:unsubscribe') {
        const topic = (params as { topic?: unknown } | undefined)?.topic;
        if (!isEventTopic(topic)) {
          return reply({ error: { code: JsonRpcError.INVALID_PARAMS, message: 'Unknown event topic', data: { code: 'BAD_REQUEST' } } });
        }
        if (method === 'rpc:subscribe') topics.add(topic);
        else topics.delete(topic);
        return reply({ result: { ok: true } });
      }
      const result = await service.dispatch(method, params, session);
      if (result.ok) return reply({ result: result.result });
      const code = result.error.code === 'UNKNOWN_CHANNEL' ? JsonRpcError.METHOD_NOT_FOUND
        : result.error.code === 'BAD_REQUEST' ? JsonRpcError.INVALID_PARAMS : JsonRpcError.SERVER_ERROR;
      reply({ error: { code, message: result.error.message, data: { code: result.error.code } } });
    }
  }

  return {
    get clients() {
      return wss.clients.size;
    },
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }),
  };
}
