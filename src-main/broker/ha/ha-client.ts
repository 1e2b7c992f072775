/**
 * Slave side of replication. RocketMQ: store/ha/DefaultHAClient.java.
 *
 * Connects to the master's HA address (learned from the NameServer's REGISTER_BROKER answer or
 * configured), reads the HANDSHAKE, cuts any divergent tail (ha-epochs.ts), adopts the master's
 * epoch history and reports its max offset; then appends every DATA frame whose phyOffset equals
 * its own max offset (else drops the connection, as RocketMQ does) and reports after each append
 * and every `heartbeatMs`. A master silent for `housekeepingMs` (no frame; it heartbeats every
 * 5 s) is dropped. After a drop it reconnects every `reconnectMs`, and tells its owner, which
 * re-registers with the NameServers to learn who the master is now.
 */
import { connect, type Socket } from 'node:net';
import type { MessageStore } from '../store/message-store.js';
import type { Logger } from '../../remoting/logger.js';
import { parseAddress } from '../../remoting/remoting-client.js';
import {
  HaFrameDecoder, HaFrameType, encodeReport, parseHandshake, type HaFrame,
} from './ha-protocol.js';
import { divergencePoint, type EpochFile } from './ha-epochs.js';

export interface HaClientOptions {
  store: () => MessageStore;
  epochs: EpochFile;
  brokerName: string;
  logger: Logger;
  heartbeatMs?: number;
  housekeepingMs?: number;
  reconnectMs?: number;
  /** Called when a connection ends (or cannot be made): time to ask the NameServers who is master. */
  onDisconnected?: () => void;
}

export type HaClientState = 'IDLE' | 'CONNECTING' | 'HANDSHAKE' | 'STREAMING' | 'PAUSED' | 'DIVERGED' | 'STOPPED';

export interface TruncationRecord {
  at: number;
  from: number;
  to: number;
  bytes: number;
  records: number;
  reason: string;
}

export interface HaClientStatus {
  state: HaClientState;
  masterHaAddr: string | null;
  masterAddr: string | null;
  slaveMaxOffset: number;
  masterMaxOffset: number;
  lastFrameAt: number;
  connectedAt: number;
  truncations: TruncationRecord[];
  /** Why the link is refused (state DIVERGED). */
  diverged: string | null;
}

/** Frames waiting beyond this many bytes pause the socket (the store is the bottleneck). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class HaClient {
  private masterHaAddr: string | null = null;
  private masterAddr: string | null = null;
  private socket: Socket | null = null;
  private state: HaClientState = 'IDLE';
  private decoder = new HaFrameDecoder();
  private chain: Promise<void> = Promise.resolve();
  private queuedBytes = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastFrameAt = 0;
  private connectedAt = 0;
  private masterMaxOffset = 0;
  private paused = false;
  /** Why this slave refuses its master (see the HANDSHAKE); cleared by setMaster or a resume. */
  private diverged: string | null = null;
  /** Set by a resume after DIVERGED: the next handshake may cut the slave's tail. */
  private allowCut = false;
  private lastReportSent = 0;
  private stopped = false;
  readonly truncations: TruncationRecord[] = [];
  private readonly heartbeatMs: number;
  private readonly housekeepingMs: number;
  private readonly reconnectMs: number;

  constructor(private readonly opts: HaClientOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.housekeepingMs = opts.housekeepingMs ?? 20_000;
    this.reconnectMs = opts.reconnectMs ?? 1_000;
  }

  start(): void {
    this.stopped = false;
    this.heartbeatTimer = setInterval(() => this.housekeeping(), Math.min(1000, this.heartbeatMs));
    this.heartbeatTimer.unref();
    this.connectSoon(0);
  }

  /** Points the client at a (new) master; reconnects if it changed. */
  setMaster(haAddr: string | null, masterAddr?: string | null): void {
    if (masterAddr !== undefined) this.masterAddr = masterAddr;
    if (haAddr === this.masterHaAddr) return;
    this.opts.logger.info(`HA master is now ${haAddr ?? '(none)'}`);
    this.masterHaAddr = haAddr;
    this.diverged = null;
    const s = this.socket;
    this.socket = null;
    s?.destroy();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (!this.stopped && !this.paused) this.state = 'IDLE';
    this.connectSoon(0);
  }

  /** Fault control: a partitioned slave drops its link and stays away until resumed. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.diverged) {
      this.opts.logger.warn(`HA: resumed by an operator; the tail this slave alone holds will be cut (${this.diverged})`);
      this.diverged = null;
      this.allowCut = true;
    }
    if (paused) {
      this.dropConnection('replication paused', false);
      this.state = 'PAUSED';
    } else {
      this.state = 'IDLE';
      this.connectSoon(0);
    }
  }

  get isConnected(): boolean {
    return this.state === 'STREAMING';
  }

  status(): HaClientStatus {
    const store = this.opts.store();
    return {
      state: this.state,
      masterHaAddr: this.masterHaAddr,
      masterAddr: this.masterAddr,
      slaveMaxOffset: store.getMaxPhyOffset(),
      masterMaxOffset: this.masterMaxOffset,
      lastFrameAt: this.lastFrameAt,
      connectedAt: this.connectedAt,
      truncations: [...this.truncations],
      diverged: this.diverged,
    };
  }

  /** Stops for good (the node stops, dies or becomes master); waits for an append in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'STOPPED';
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropConnection('stopped', false);
    await this.chain.catch(() => undefined);
  }

  private connectSoon(delayMs: number): void {
    if (this.stopped || this.paused || this.diverged || this.socket || this.reconnectTimer || !this.masterHaAddr) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private connect(): void {
    if (this.stopped || this.paused || this.socket || !this.masterHaAddr) return;
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseAddress(this.masterHaAddr));
    } catch (e) {
      this.opts.logger.error(`bad HA master address ${this.masterHaAddr}: ${(e as Error).message}`);
      return;
    }
    this.state = 'CONNECTING';
    const socket = connect({ host, port });
    this.socket = socket;
    this.decoder = new HaFrameDecoder();
    this.queuedBytes = 0;
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error('connect timed out')), 3000);
    socket.once('connect', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.state = 'HANDSHAKE';
      this.connectedAt = this.lastFrameAt = Date.now();
    });
    socket.on('data', (d: Buffer) => this.onData(socket, d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.stopped && !this.paused) this.state = 'IDLE';
      this.opts.onDisconnected?.();
      this.connectSoon(this.reconnectMs);
    });
  }

  private dropConnection(reason: string, log = true): void {
    const s = this.socket;
    if (!s) return;
    if (log) this.opts.logger.warn(`HA link to ${this.masterHaAddr ?? '?'} dropped: ${reason}`);
    this.socket = null;
    s.destroy();
    if (!this.stopped && !this.paused) {
      this.state = 'IDLE';
      this.opts.onDisconnected?.();
      this.connectSoon(this.reconnectMs);
    }
  }

  private onData(socket: Socket, d: Buffer): void {
    if (this.socket !== socket) return;
    let frames: HaFrame[];
    try {
      frames = this.decoder.push(d);
    } catch (e) {
      this.dropConnection((e as Error).message);
      return;
    }
    for (const f of frames) {
      this.lastFrameAt = Date.now();
      this.masterMaxOffset = Math.max(this.masterMaxOffset, f.masterMaxOffset);
      if (f.type === HaFrameType.HEARTBEAT) continue;
      this.queuedBytes += f.body.length;
      if (this.queuedBytes > MAX_QUEUED_BYTES) socket.pause();
      this.chain = this.chain.then(() => this.handle(socket, f)).catch((e: Error) => {
        if (this.socket === socket) this.dropConnection(e.message);
      });
    }
  }

  private async handle(socket: Socket, f: HaFrame): Promise<void> {
    this.queuedBytes -= f.body.length;
    if (this.queuedBytes <= MAX_QUEUED_BYTES / 2 && socket.isPaused()) socket.resume();
    if (this.socket !== socket) return;
    const store = this.opts.store();
    if (f.type === HaFrameType.HANDSHAKE) {
      const hs = parseHandshake(f.body);
      if (hs.brokerName !== this.opts.brokerName) {
        throw new Error(`HA master serves broker group ${hs.brokerName}, this slave belongs to ${this.opts.brokerName}`);
      }
      if (hs.masterAddr) this.masterAddr = hs.masterAddr;
      const localMax = store.getMaxPhyOffset();
      const localEpochs = this.opts.epochs.entries();
      const point = divergencePoint(localEpochs, localMax, hs.epochs, f.masterMaxOffset);
      const masterEpoch = hs.epochs[hs.epochs.length - 1]?.epoch ?? 0;
      if (point < localMax && !this.allowCut && localEpochs[localEpochs.length - 1]!.epoch === masterEpoch && masterEpoch > 0) {
        // Ahead of the master within its own epoch: the master lost a tail this slave holds (an
        // OS crash of a SYNC_MASTER with ASYNC_FLUSH). Those bytes may be acknowledged sends:
        // never cut them silently; stay away until an operator promotes this node or resumes it.
        this.diverged = `this slave holds [${point}, ${localMax}) of epoch ${masterEpoch}, which master ${hs.masterAddr} `
          + `(at ${f.masterMaxOffset}) lost; promote this node to keep it, or resume replication to cut it`;
        this.opts.logger.error(`HA: ${this.diverged}`);
        this.state = 'DIVERGED';
        const s = this.socket;
        this.socket = null;
        s?.destroy();
        return;
      }
      if (point < localMax) {
        const cut = store.truncateTail(point);
        const record: TruncationRecord = {
          at: Date.now(), from: cut.from, to: cut.to, bytes: cut.bytes, records: cut.records,
          reason: `divergent tail: master ${hs.masterAddr} (epochs ${JSON.stringify(hs.epochs)}, max ${f.masterMaxOffset}) never had it`,
        };
        this.truncations.push(record);
        this.opts.logger.warn(`HA: truncated commitlog [${cut.from}, ${cut.to}) = ${cut.bytes} bytes, ${cut.records} messages `
          + `(${record.reason}); segments removed: ${cut.removedSegments.join(',') || 'none'}`);
      }
      this.opts.epochs.replace(hs.epochs);
      this.allowCut = false;
      this.state = 'STREAMING';
      this.report(socket);
      return;
    }
    if (this.state !== 'STREAMING') throw new Error('DATA before HANDSHAKE');
    const expected = store.getMaxPhyOffset();
    if (f.phyOffset !== expected) {
      throw new Error(`master sent offset ${f.phyOffset}, this slave is at ${expected}`);
    }
    await store.appendReplicated(f.phyOffset, f.body);
    if (this.socket === socket) this.report(socket);
  }

  private report(socket: Socket): void {
    if (socket.destroyed) return;
    this.lastReportSent = Date.now();
    // What is written (to the OS), not what is pending: the master counts it as held.
    socket.write(encodeReport(this.opts.store().getWrittenPhyOffset()));
  }

  private housekeeping(): void {
    const s = this.socket;
    if (!s) {
      this.connectSoon(0);
      return;
    }
    const now = Date.now();
    if (now - this.lastFrameAt > this.housekeepingMs) {
      this.dropConnection(`master silent for ${now - this.lastFrameAt} ms`);
      return;
    }
    if (this.state === 'STREAMING' && now - this.lastReportSent >= this.heartbeatMs) this.report(s);
  }
}
