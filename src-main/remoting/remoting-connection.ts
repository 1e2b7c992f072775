/**
 * One remoting TCP connection, usable from either end: both sides may send requests
 * (the broker calls clients back), responses are matched to requests by opaque.
 * RocketMQ: NettyRemotingAbstract (processRequestCommand / processResponseCommand).
 */
import type { Socket } from 'node:net';
import { encodeCommand, FrameDecoder, FrameError, DEFAULT_MAX_FRAME_LENGTH } from './frame-codec.js';
import {
  allocOpaque, createResponse, isOneway, isResponse, ONEWAY_FLAG, type RemotingCommand,
} from './remoting-command.js';
import { ResponseCode } from './response-code.js';
import type { Logger } from './logger.js';

/** A handler returns the response, or null when it answers later through connection.send (long polling). */
export type RequestProcessor = (
  request: RemotingCommand,
  connection: RemotingConnection,
) => RemotingCommand | null | undefined | Promise<RemotingCommand | null | undefined>;

export class RemotingTimeoutError extends Error {
  constructor(readonly addr: string, readonly code: number, readonly timeoutMs: number) {
    super(`request code ${code} to ${addr} timed out after ${timeoutMs} ms`);
    this.name = 'RemotingTimeoutError';
  }
}

export class RemotingConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemotingConnectionError';
  }
}

interface Pending {
  resolve: (cmd: RemotingCommand) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  code: number;
}

let nextConnectionId = 1;

export class RemotingConnection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Language and version of the peer, learned from its first request (client lists show them). */
  peerLanguage = 'JAVA';
  peerVersion = 0;
  closed = false;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly closeListeners: Array<(conn: RemotingConnection) => void> = [];
  private corked = false;

  constructor(
    readonly socket: Socket,
    private readonly processors: (code: number) => RequestProcessor | undefined,
    private readonly logger: Logger,
    maxFrameLength = DEFAULT_MAX_FRAME_LENGTH,
  ) {
    this.decoder = new FrameDecoder(maxFrameLength);
    this.remoteAddress = `${normalizeIp(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
    this.localAddress = `${normalizeIp(socket.localAddress)}:${socket.localPort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      if (!this.closed) this.logger.warn(`connection ${this.remoteAddress}: ${err.message}`);
    });
    socket.on('close', () => this.onClosed());
  }

  onClose(listener: (conn: RemotingConnection) => void): void {
    this.closeListeners.push(listener);
  }

  /** Writes one command; writes within one tick go out together (cork) so pipelined replies batch. */
  send(cmd: RemotingCommand): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeCommand(cmd));
  }

  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closed) return Promise.reject(new RemotingConnectionError(`connection to ${this.remoteAddress} is closed`));
    request.opaque = allocOpaque();
    request.flag &= ~ONEWAY_FLAG;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(request.opaque);
        reject(new RemotingTimeoutError(this.remoteAddress, request.code, timeoutMs));
      }, timeoutMs);
      this.pending.set(request.opaque, { resolve, reject, timer, code: request.code });
      this.send(request);
    });
  }

  invokeOneway(request: RemotingCommand): void {
    request.opaque = allocOpaque();
    request.flag |= ONEWAY_FLAG;
    this.send(request);
  }

  close(): void {
    if (this.closed) return;
    // Writes of this tick are still corked: hand them to the socket before destroying it, or
    // replies sent just before a close (held pulls answered at broker stop) are lost.
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.socket.destroy();
    this.onClosed();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private onData(chunk: Buffer): void {
    let commands: RemotingCommand[];
    try {
      commands = this.decoder.push(chunk);
    } catch (err) {
      // A Java server closes a connection whose frames it cannot decode; so do we, with one log line.
      const reason = err instanceof FrameError ? err.message : String(err);
      this.logger.warn(`dropping connection ${this.remoteAddress}: malformed frame (${reason})`);
      this.close();
      return;
    }
    for (const cmd of commands) {
      if (isResponse(cmd)) this.onResponse(cmd);
      else void this.onRequest(cmd);
    }
  }

  private onResponse(cmd: RemotingCommand): void {
    const p = this.pending.get(cmd.opaque);
    if (!p) {
      this.logger.warn(`response with unknown opaque ${cmd.opaque} from ${this.remoteAddress} dropped`);
      return;
    }
    this.pending.delete(cmd.opaque);
    clearTimeout(p.timer);
    p.resolve(cmd);
  }

  private async onRequest(request: RemotingCommand): Promise<void> {
    this.peerLanguage = request.language;
    this.peerVersion = request.version;
    const processor = this.processors(request.code);
    if (!processor) {
      if (!isOneway(request)) {
        this.send(createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED,
          ` request type ${request.code} not supported`));
      }
      return;
    }
    let response: RemotingCommand | null | undefined;
    try {
      response = await processor(request, this);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.logger.warn(`processor for code ${request.code} failed: ${msg}`);
      response = createResponse(request, ResponseCode.SYSTEM_ERROR, msg);
    }
    if (response && !isOneway(request)) {
      response.opaque = request.opaque;
      try {
        this.send(response);
      } catch (err) {
        // A response that cannot be encoded (e.g. a non-Buffer body) must not become an unhandled rejection.
        const msg = err instanceof Error ? err.message : String(err);
        this.logger.error(`response to code ${request.code} could not be sent: ${msg}`);
        this.send(createResponse(request, ResponseCode.SYSTEM_ERROR, `response could not be encoded: ${msg}`));
      }
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [opaque, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RemotingConnectionError(`connection to ${this.remoteAddress} closed before the response to code ${p.code}`));
      this.pending.delete(opaque);
    }
    for (const l of this.closeListeners) l(this);
  }
}

function normalizeIp(ip: string | undefined): string {
  if (!ip) return '0.0.0.0';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
