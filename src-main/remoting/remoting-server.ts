/**
 * TCP remoting server with a processor table keyed by request code.
 * RocketMQ: NettyRemotingServer. Unknown codes get REQUEST_CODE_NOT_SUPPORTED and the connection stays;
 * malformed frames drop only that connection.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { RemotingConnection, type RequestProcessor } from './remoting-connection.js';
import { DEFAULT_MAX_FRAME_LENGTH } from './frame-codec.js';
import { createLogger, type Logger } from './logger.js';

export interface RemotingServerOptions {
  host?: string;
  port?: number;
  maxFrameLength?: number;
  name?: string;
  logger?: Logger;
}

export class RemotingServer {
  private readonly processors = new Map<number, RequestProcessor>();
  private readonly connections = new Set<RemotingConnection>();
  private readonly connectListeners: Array<(c: RemotingConnection) => void> = [];
  private server: Server | null = null;
  private boundPort = 0;
  readonly host: string;
  readonly logger: Logger;

  constructor(private readonly options: RemotingServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.logger = options.logger ?? createLogger(options.name ?? 'remoting-server');
  }

  registerProcessor(code: number, processor: RequestProcessor): void {
    this.processors.set(code, processor);
  }

  onConnection(listener: (c: RemotingConnection) => void): void {
    this.connectListeners.push(listener);
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return `${this.host}:${this.boundPort}`;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listens; resolves with the bound port (port 0 picks a free one). */
  async start(): Promise<number> {
    const server = createServer((socket: Socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    server.on('error', (err) => this.logger.error(`server error: ${err.message}`));
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of this.connections) c.close();
    this.connections.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const conn = new RemotingConnection(
      socket,
      (code) => this.processors.get(code),
      this.logger,
      this.options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
    );
    this.connections.add(conn);
    conn.onClose(() => this.connections.delete(conn));
    for (const l of this.connectListeners) l(conn);
  }
}
