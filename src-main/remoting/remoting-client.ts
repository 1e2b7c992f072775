/**
 * Remoting client: one reused connection per address, request timeouts, oneway sends,
 * and a processor table for requests the server sends back (e.g. NOTIFY_CONSUMER_IDS_CHANGED).
 * RocketMQ: NettyRemotingClient.
 */
import { connect, type Socket } from 'node:net';
import { RemotingConnection, RemotingConnectionError, type RequestProcessor } from './remoting-connection.js';
import type { RemotingCommand } from './remoting-command.js';
import { DEFAULT_MAX_FRAME_LENGTH } from './frame-codec.js';
import { createLogger, type Logger } from './logger.js';

export interface RemotingClientOptions {
  connectTimeoutMs?: number;
  defaultTimeoutMs?: number;
  maxFrameLength?: number;
  logger?: Logger;
}

export function parseAddress(addr: string): { host: string; port: number } {
  const idx = addr.lastIndexOf(':');
  const port = Number(addr.slice(idx + 1));
  if (idx <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RemotingConnectionError(`invalid address "${addr}" (expected host:port)`);
  }
  return { host: addr.slice(0, idx), port };
}

export class RemotingClient {
  private readonly connections = new Map<string, Promise<RemotingConnection>>();
  private readonly processors = new Map<number, RequestProcessor>();
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: RemotingClientOptions = {}) {
    this.logger = options.logger ?? createLogger('remoting-client');
  }

  registerProcessor(code: number, processor: RequestProcessor): void {
    this.processors.set(code, processor);
  }

  async invoke(addr: string, request: RemotingCommand, timeoutMs?: number): Promise<RemotingCommand> {
    const conn = await this.getConnection(addr);
    return conn.invoke(request, timeoutMs ?? this.options.defaultTimeoutMs ?? 3000);
  }

  async invokeOneway(addr: string, request: RemotingCommand): Promise<void> {
    const conn = await this.getConnection(addr);
    conn.invokeOneway(request);
  }

  /** Returns the live connection to addr, connecting if needed (concurrent callers share one attempt). */
  getConnection(addr: string): Promise<RemotingConnection> {
    if (this.closed) return Promise.reject(new RemotingConnectionError('client is closed'));
    const existing = this.connections.get(addr);
    if (existing) return existing;
    const attempt = this.connect(addr);
    this.connections.set(addr, attempt);
    attempt.then(
      (conn) => conn.onClose(() => {
        if (this.connections.get(addr) === attempt) this.connections.delete(addr);
      }),
      () => {
        if (this.connections.get(addr) === attempt) this.connections.delete(addr);
      },
    );
    return attempt;
  }

  closeConnection(addr: string): void {
    const c = this.connections.get(addr);
    this.connections.delete(addr);
    c?.then((conn) => conn.close(), () => undefined);
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.then((conn) => conn.close(), () => undefined);
    this.connections.clear();
  }

  private connect(addr: string): Promise<RemotingConnection> {
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseAddress(addr));
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = this.options.connectTimeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const socket: Socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RemotingConnectionError(`connect to ${addr} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RemotingConnectionError(`connect to ${addr} failed: ${err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RemotingConnection(
          socket,
          (code) => this.processors.get(code),
          this.logger,
          this.options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
        ));
      });
    });
  }
}
