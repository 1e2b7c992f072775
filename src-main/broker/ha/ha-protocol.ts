/**
 * MQDesk's master/slave replication (HA) wire format: its own TCP connection, not remoting frames.
 * Modelled on RocketMQ's classic HA (store/ha/DefaultHAConnection.java, DefaultHAClient.java;
 * reference rocketmq-remoting.md §13), between MQDesk nodes only.
 *
 * Slave → master: 8 bytes, i64 big-endian = the slave's max commitlog offset (its next write
 * position), exactly as RocketMQ: sent once the handshake is done, after every append and every
 * `haHeartbeatMs` (5 s). It doubles as the slave's ack (SYNC_MASTER waits on it).
 *
 * Master → slave: frames of a 28-byte header and a body
 *
 *   i32 type             1 HANDSHAKE, 2 DATA, 3 HEARTBEAT
 *   i64 phyOffset        DATA: commitlog offset of the body's first byte; else 0
 *   i32 size             body bytes
 *   i64 masterMaxOffset  what the master had written when it built the frame (the slave's lag)
 *   i32 crc32            CRC32 of the 24 header bytes before it and of the body
 *   body                 DATA: whole raw commitlog records; HANDSHAKE: JSON (HaHandshake)
 *
 * Where this does better than RocketMQ:
 * - Every frame carries a CRC32 over its header and body. RocketMQ's {phyOffset, size, bytes}
 *   frame has none, and TCP's 16-bit checksum lets corrupt segments through now and then
 *   (bad NICs, offload bugs, a relaying proxy): a flipped bit would land silently in the
 *   slave's commitlog. Here the slave drops the connection and resumes from its last good offset.
 * - A DATA body is whole records only (RocketMQ cuts anywhere), so the slave checks each
 *   record's layout and its physicalOffset field before it appends; a blank that ends a segment
 *   is always a chunk's last record and moves the offset to the next segment.
 * - A HANDSHAKE opens every connection with the master's epoch history (ha-epochs.ts), so a
 *   slave holding a tail its master never had (a returning old master) finds and cuts it
 *   (RocketMQ 4 never repairs such divergence; 5.x does it in controller mode only).
 *
 * Chunk size: up to 256 KiB of records (RocketMQ: haTransferBatchSize 32 KiB), and always at
 * least one whole record (up to maxMessageSize + header). Each chunk costs the slave one write
 * syscall, one dispatch pass and one report, and in Node each also costs an event-loop turn;
 * with 1 KiB messages 32 KiB means ~30 messages per turn, 256 KiB ~250, which keeps a slave
 * from falling behind a master taking 100k+ msgs/s. 256 KiB is also the pull transfer limit,
 * so the slave never holds more than ~one pull's worth of unparsed bytes per frame. Under light
 * load chunks are small anyway: a chunk ships whatever is written when the connection is ready.
 */
import { crc32 } from 'node:zlib';

export const HA_FRAME_HEADER_SIZE = 28;
export const HA_REPORT_SIZE = 8;
/** Frames above this are a protocol error (a record is at most maxMessageSize + header). */
export const HA_MAX_FRAME_BODY = 64 * 1024 * 1024;
export const DEFAULT_HA_TRANSFER_BATCH_BYTES = 256 * 1024;
export const HA_PROTOCOL_VERSION = 1;

export const HaFrameType = {
  HANDSHAKE: 1,
  DATA: 2,
  HEARTBEAT: 3,
} as const;
export type HaFrameTypeValue = (typeof HaFrameType)[keyof typeof HaFrameType];

export interface EpochEntry {
  epoch: number;
  /** First commitlog offset written in this epoch. */
  startOffset: number;
}

export interface HaHandshake {
  version: number;
  brokerName: string;
  /** The master's remoting address. */
  masterAddr: string;
  epochs: EpochEntry[];
}

export interface HaFrame {
  type: HaFrameTypeValue;
  phyOffset: number;
  masterMaxOffset: number;
  body: Buffer;
}

export class HaProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HaProtocolError';
  }
}

function frameCrc(header: Buffer, body: Buffer): number {
  return crc32(body, crc32(header.subarray(0, 24))) >>> 0;
}

/** The header of a frame (the body goes out as its own buffer, not copied). */
export function encodeFrameHeader(type: HaFrameTypeValue, phyOffset: number, body: Buffer, masterMaxOffset: number): Buffer {
  const h = Buffer.allocUnsafe(HA_FRAME_HEADER_SIZE);
  h.writeInt32BE(type, 0);
  h.writeBigInt64BE(BigInt(phyOffset), 4);
  h.writeInt32BE(body.length, 12);
  h.writeBigInt64BE(BigInt(masterMaxOffset), 16);
  h.writeUInt32BE(frameCrc(h, body), 24);
  return h;
}

export function encodeHandshake(hs: HaHandshake, masterMaxOffset: number): Buffer[] {
  const body = Buffer.from(JSON.stringify(hs), 'utf8');
  return [encodeFrameHeader(HaFrameType.HANDSHAKE, 0, body, masterMaxOffset), body];
}

export function encodeReport(offset: number): Buffer {
  const b = Buffer.allocUnsafe(HA_REPORT_SIZE);
  b.writeBigInt64BE(BigInt(offset), 0);
  return b;
}

export function parseHandshake(body: Buffer): HaHandshake {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HaProtocolError(`handshake is not JSON: ${(e as Error).message}`);
  }
  const hs = v as Partial<HaHandshake>;
  if (!hs || typeof hs !== 'object' || typeof hs.brokerName !== 'string' || !Array.isArray(hs.epochs)) {
    throw new HaProtocolError('handshake lacks brokerName or epochs');
  }
  if (hs.version !== HA_PROTOCOL_VERSION) throw new HaProtocolError(`HA protocol version ${String(hs.version)}, expected ${HA_PROTOCOL_VERSION}`);
  const epochs: EpochEntry[] = [];
  for (const e of hs.epochs as unknown[]) {
    const entry = e as Partial<EpochEntry>;
    if (!Number.isSafeInteger(entry?.epoch) || !Number.isSafeInteger(entry?.startOffset)) throw new HaProtocolError('bad epoch entry');
    epochs.push({ epoch: entry.epoch as number, startOffset: entry.startOffset as number });
  }
  return { version: hs.version, brokerName: hs.brokerName, masterAddr: String(hs.masterAddr ?? ''), epochs };
}

/**
 * Accumulates socket bytes and cuts them into verified frames. Throws HaProtocolError on an
 * unknown type, an oversized body or a CRC mismatch; the caller drops the connection.
 */
export class HaFrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;

  push(data: Buffer): HaFrame[] {
    this.chunks.push(data);
    this.length += data.length;
    const out: HaFrame[] = [];
    for (;;) {
      if (this.length < HA_FRAME_HEADER_SIZE) break;
      const head = this.peek(HA_FRAME_HEADER_SIZE);
      const type = head.readInt32BE(0);
      const size = head.readInt32BE(12);
      if (type !== HaFrameType.HANDSHAKE && type !== HaFrameType.DATA && type !== HaFrameType.HEARTBEAT) {
        throw new HaProtocolError(`unknown frame type ${type}`);
      }
      if (size < 0 || size > HA_MAX_FRAME_BODY) throw new HaProtocolError(`frame body of ${size} bytes`);
      if (this.length < HA_FRAME_HEADER_SIZE + size) break;
      const whole = this.take(HA_FRAME_HEADER_SIZE + size);
      const header = whole.subarray(0, HA_FRAME_HEADER_SIZE);
      const body = whole.subarray(HA_FRAME_HEADER_SIZE);
      if (frameCrc(header, body) !== header.readUInt32BE(24)) {
        throw new HaProtocolError(`frame CRC mismatch (type ${type}, offset ${header.readBigInt64BE(4)}, ${size} bytes)`);
      }
      out.push({
        type: type as HaFrameTypeValue,
        phyOffset: Number(header.readBigInt64BE(4)),
        masterMaxOffset: Number(header.readBigInt64BE(16)),
        body,
      });
    }
    return out;
  }

  get bufferedBytes(): number {
    return this.length;
  }

  /** Merges just enough leading chunks to make the first one at least n bytes. */
  private front(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    let acc = 0;
    let k = 0;
    while (acc < n) acc += (this.chunks[k++] as Buffer).length;
    const merged = Buffer.concat(this.chunks.slice(0, k), acc);
    this.chunks.splice(0, k, merged);
    return merged;
  }

  private peek(n: number): Buffer {
    return this.front(n).subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.front(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.length -= n;
    return out;
  }
}

/** Cuts the slave → master byte stream into 8-byte offsets. */
export class HaReportDecoder {
  private rest: Buffer = Buffer.alloc(0);

  push(data: Buffer): number[] {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, data]) : data;
    const out: number[] = [];
    let p = 0;
    for (; p + HA_REPORT_SIZE <= buf.length; p += HA_REPORT_SIZE) out.push(Number(buf.readBigInt64BE(p)));
    this.rest = p < buf.length ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
    return out;
  }
}
