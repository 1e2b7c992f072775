/**
 * Master side of replication. RocketMQ: store/ha/DefaultHAService.java (AcceptSocketService,
 * GroupTransferService), DefaultHAConnection.java (ReadSocketService, WriteSocketService).
 *
 * Every node listens on its HA port; only a master serves it (a slave's listener closes what
 * it accepts, so a slave pointed at another slave learns nothing wrong). Per slave connection:
 * send the HANDSHAKE (epoch history, max offset), wait for the slave's first report (its max
 * offset after any truncation), then stream DATA frames from there as records get written,
 * pausing while the socket's buffer is above 4 MiB. A HEARTBEAT goes out after
 * `heartbeatMs` without a frame; a slave silent for `housekeepingMs` is dropped.
 *
 * SYNC_MASTER (GroupTransferService): `waitForReplica(endOffset)` resolves OK once a slave's
 * report covers endOffset; TIMEOUT after `syncTimeoutMs`; SLAVE_NOT_AVAILABLE at once when no
 * slave has completed a handshake or the best one is more than `maxGapNotInSync` bytes behind
 * (RocketMQ 4.9: HAService#isSlaveOK).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { MessageStore } from '../store/message-store.js';
import type { Logger } from '../../remoting/logger.js';
import { ResponseCode } from '../../remoting/response-code.js';
import {
  DEFAULT_HA_TRANSFER_BATCH_BYTES, HaFrameType, HaReportDecoder, encodeFrameHeader, encodeHandshake, type EpochEntry,
  HA_PROTOCOL_VERSION,
} from './ha-protocol.js';

export type ReplicaOutcome = 'OK' | 'TIMEOUT' | 'SLAVE_NOT_AVAILABLE';

/** What the send path needs (BrokerContext.ha). */
export interface ReplicaWaiter {
  waitForReplica(endOffset: number): Promise<ReplicaOutcome>;
}

export interface HaServiceOptions {
  host: string;
  port: number;
  store: () => MessageStore;
  brokerName: string;
  masterAddr: () => string;
  epochs: () => EpochEntry[];
  isMaster: () => boolean;
  logger: Logger;
  transferBatchBytes?: number;
  heartbeatMs?: number;
  housekeepingMs?: number;
  maxGapNotInSync?: number;
  syncTimeoutMs?: number;
}

export interface HaSlaveStatus {
  remoteAddress: string;
  connectedAt: number;
  /** Last offset the slave reported (-1 before its first report). */
  ackOffset: number;
  /** Next offset to ship. */
  transferOffset: number;
  lastReportAt: number;
}

interface Waiter {
  endOffset: number;
  deadline: number;
  resolve: (o: ReplicaOutcome) => void;
}

const SOCKET_HIGH_WATER = 4 * 1024 * 1024;

class HaConnection {
  ackOffset = -1;
  transferOffset = -1;
  lastReportAt = Date.now();
  lastSentAt = Date.now();
  readonly connectedAt = Date.now();
  readonly remoteAddress: string;
  closed = false;
  private readonly reports = new HaReportDecoder();
  private stalled: string | null = null;

  constructor(private readonly service: HaService, readonly socket: Socket) {
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('drain', () => this.pump());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      service.onClosed(this);
    });
  }

  private onData(d: Buffer): void {
    for (const offset of this.reports.push(d)) {
      this.lastReportAt = Date.now();
      const written = this.service.store().getWrittenPhyOffset();
      if (offset < 0 || offset > written) {
        this.service.logger.error(`HA slave ${this.remoteAddress} reports offset ${offset} beyond this master's ${written}; dropping it`);
        this.close();
        return;
      }
      if (this.transferOffset < 0) {
        this.transferOffset = offset;
        this.service.logger.info(`HA slave ${this.remoteAddress} starts at offset ${offset} (master at ${written})`);
      }
      this.ackOffset = offset;
      this.service.onAck(offset);
    }
    this.pump();
  }

  /** Ships written records while the socket keeps up. */
  pump(): void {
    if (this.closed || this.transferOffset < 0 || this.stalled) return;
    const store = this.service.store();
    let corked = false;
    try {
      while (this.socket.writableLength < SOCKET_HIGH_WATER) {
        const chunk = store.readReplicationChunk(this.transferOffset, this.service.batchBytes);
        if (!chunk) break;
        if (!corked) {
          this.socket.cork();
          corked = true;
        }
        this.socket.write(encodeFrameHeader(HaFrameType.DATA, this.transferOffset, chunk.data, store.getWrittenPhyOffset()));
        this.socket.write(chunk.data);
        this.transferOffset = chunk.nextOffset;
        this.lastSentAt = Date.now();
      }
    } catch (e) {
      // Damage in the log (quarantined by recovery) cannot be shipped record by record.
      this.stalled = (e as Error).message;
      this.service.logger.error(`HA transfer to ${this.remoteAddress} stalled at ${this.transferOffset}: ${this.stalled}`);
    } finally {
      if (corked) this.socket.uncork();
    }
  }

  heartbeat(now: number): void {
    if (this.closed) return;
    if (now - this.lastReportAt > this.service.housekeepingMs) {
      this.service.logger.warn(`HA slave ${this.remoteAddress} silent for ${now - this.lastReportAt} ms; dropping it`);
      this.close();
      return;
    }
    if (now - this.lastSentAt >= this.service.heartbeatMs && this.socket.writableLength === 0) {
      const empty = Buffer.alloc(0);
      this.socket.write(encodeFrameHeader(HaFrameType.HEARTBEAT, 0, empty, this.service.store().getWrittenPhyOffset()));
      this.lastSentAt = now;
    }
    this.pump();
  }

  status(): HaSlaveStatus {
    return {
      remoteAddress: this.remoteAddress, connectedAt: this.connectedAt, ackOffset: this.ackOffset,
      transferOffset: this.transferOffset, lastReportAt: this.lastReportAt,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.service.onClosed(this);
  }
}

export class HaService implements ReplicaWaiter {
  readonly logger: Logger;
  readonly batchBytes: number;
  readonly heartbeatMs: number;
  readonly housekeepingMs: number;
  private readonly maxGap: number;
  private readonly syncTimeoutMs: number;
  private server: Server | null = null;
  private boundPort = 0;
  private readonly connections = new Set<HaConnection>();
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private waiterTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;

  constructor(private readonly opts: HaServiceOptions) {
    this.logger = opts.logger;
    this.batchBytes = opts.transferBatchBytes ?? DEFAULT_HA_TRANSFER_BATCH_BYTES;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.housekeepingMs = opts.housekeepingMs ?? 20_000;
    this.maxGap = opts.maxGapNotInSync ?? 256 * 1024 * 1024;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 5_000;
  }

  store(): MessageStore {
    return this.opts.store();
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return `${this.opts.host}:${this.boundPort}`;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.logger.error(`HA server: ${e.message}`));
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) c.heartbeat(now);
    }, Math.min(1000, this.heartbeatMs));
    this.timer.unref();
  }

  /** Store listener hook: records were written; ship them (coalesced to one pass per turn). */
  notifyWritten(): void {
    if (this.pumpScheduled || this.connections.size === 0) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      for (const c of this.connections) c.pump();
    });
  }

  /** Drops every slave connection (on demotion; they reconnect to whoever is master). */
  dropConnections(): void {
    for (const c of [...this.connections]) c.close();
  }

  waitForReplica(endOffset: number): Promise<ReplicaOutcome> {
    let best = -1;
    for (const c of this.connections) if (c.ackOffset > best) best = c.ackOffset;
    if (best < 0) return Promise.resolve('SLAVE_NOT_AVAILABLE');
    if (best >= endOffset) return Promise.resolve('OK');
    if (this.store().getWrittenPhyOffset() - best > this.maxGap) return Promise.resolve('SLAVE_NOT_AVAILABLE');
    this.notifyWritten();
    return new Promise<ReplicaOutcome>((resolve) => {
      this.waiters.push({ endOffset, deadline: Date.now() + this.syncTimeoutMs, resolve });
      this.armWaiterTimer();
    });
  }

  onAck(offset: number): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.endOffset <= offset) w.resolve('OK');
      else still.push(w);
    }
    this.waiters = still;
  }

  onClosed(c: HaConnection): void {
    if (this.connections.delete(c)) this.logger.info(`HA slave ${c.remoteAddress} disconnected (acked ${c.ackOffset})`);
  }

  slaves(): HaSlaveStatus[] {
    return [...this.connections].filter((c) => !c.closed).map((c) => c.status());
  }

  /** Best offset any slave has acknowledged, -1 with none. */
  bestAckOffset(): number {
    let best = -1;
    for (const c of this.connections) if (c.ackOffset > best) best = c.ackOffset;
    return best;
  }

  async stop(): Promise<void> {
    this.kill();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes everything at once; waiting sends time out on their own clock (they are gone with the node). */
  kill(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.waiterTimer) clearTimeout(this.waiterTimer);
    this.waiterTimer = null;
    for (const w of this.waiters) w.resolve('TIMEOUT');
    this.waiters = [];
    this.dropConnections();
    if (this.server) this.server.close();
  }

  private accept(socket: Socket): void {
    if (!this.opts.isMaster()) {
      socket.destroy();
      return;
    }
    const c = new HaConnection(this, socket);
    this.connections.add(c);
    this.logger.info(`HA slave connected from ${c.remoteAddress}`);
    const store = this.store();
    for (const b of encodeHandshake({
      version: HA_PROTOCOL_VERSION, brokerName: this.opts.brokerName, masterAddr: this.opts.masterAddr(), epochs: this.opts.epochs(),
    }, store.getWrittenPhyOffset())) socket.write(b);
  }

  private armWaiterTimer(): void {
    if (this.waiterTimer) return;
    const check = (): void => {
      this.waiterTimer = null;
      const now = Date.now();
      const still: Waiter[] = [];
      let next = Infinity;
      for (const w of this.waiters) {
        if (now >= w.deadline) w.resolve('TIMEOUT');
        else {
          still.push(w);
          next = Math.min(next, w.deadline);
        }
      }
      this.waiters = still;
      if (still.length > 0) {
        this.waiterTimer = setTimeout(check, Math.max(10, Math.min(next - now, 1000)));
        this.waiterTimer.unref();
      }
    };
    this.waiterTimer = setTimeout(check, Math.min(this.syncTimeoutMs, 1000));
    this.waiterTimer.unref();
  }
}

/**
 * SYNC_MASTER's part of answering a send (RocketMQ SendMessageProcessor#handlePutMessageResult
 * after CommitLog#handleHA): null keeps the store's answer; otherwise FLUSH_SLAVE_TIMEOUT (12)
 * when no slave ack covered the message in time, SLAVE_NOT_AVAILABLE (11) when there is no slave
 * or it is too far behind. Both still mean "stored on the master". Only PUT_OK puts of a
 * SYNC_MASTER wait, and not those sent with WAIT=false (waitStoreMsgOK).
 */
export async function replicationResponseCode(role: string, ha: ReplicaWaiter | undefined,
  result: { status: string; physicalOffset?: number; wroteBytes?: number }, waitStoreMsgOK: boolean): Promise<number | null> {
  if (role !== 'SYNC_MASTER' || !waitStoreMsgOK || result.status !== 'PUT_OK' || !ha) return null;
  if (result.physicalOffset === undefined || result.wroteBytes === undefined) return null;
  const outcome = await ha.waitForReplica(result.physicalOffset + result.wroteBytes);
  if (outcome === 'OK') return null;
  return outcome === 'TIMEOUT' ? ResponseCode.FLUSH_SLAVE_TIMEOUT : ResponseCode.SLAVE_NOT_AVAILABLE;
}
