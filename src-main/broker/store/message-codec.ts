/**
 * Stored-message codec: the RocketMQ commitlog record layout, which is also the PULL / QUERY /
 * VIEW response body. Upstream: `common/.../message/MessageDecoder.java` (decode, createMessageId,
 * string2messageProperties), `store/.../MessageExtEncoder.java` (encode) and
 * `store/.../CommitLog.java#checkMessageAndReturnSize` (the recovery check).
 *
 * Stored record, big-endian (offsets for IPv4 hosts; an IPv6 host takes 20 bytes instead of 8):
 *
 *    0  totalSize        i32   whole record, this field included
 *    4  magicCode        i32   V1 0xDAA320A7 (topic length 1 byte) | V2 0xDAA320AB (2 bytes)
 *    8  bodyCRC          i32   crc32(body as stored) & 0x7FFFFFFF
 *   12  queueId          i32
 *   16  flag             i32   user flag
 *   20  queueOffset      i64   index in the consume queue
 *   28  physicalOffset   i64   commitlog offset of this record
 *   36  sysFlag          i32   0x10 born host IPv6, 0x20 store host IPv6, ...
 *   40  bornTimestamp    i64
 *   48  bornHost         4+4   IPv4 address + port (IPv6: 16+4)
 *   56  storeTimestamp   i64
 *   64  storeHost        4+4
 *   72  reconsumeTimes   i32
 *   76  preparedTxOffset i64
 *   84  bodyLength       i32, then body
 *       topicLength      i8 (V1) / i16 (V2), then topic (UTF-8)
 *       propertiesLength i16, then properties (UTF-8, key 0x01 value 0x02 ...)
 *
 * Whole-record CRC (MQDesk writes it on every record; RocketMQ 5 does with enabledAppendPropCRC):
 * the last property is `__CRC32#` 0x01 + 10 ASCII digits + 0x02 (20 bytes, CRC32_RESERVED_LEN),
 * the digits least significant first (MessageDecoder.createCrc32), holding
 * crc32(record[0, totalSize - 20)) & 0x7FFFFFFF, computed once offsets and store time are set.
 * So a flipped bit in any header field, host, topic, property or body is caught, not only in the
 * body (which is all bodyCRC covers), and clients see one more property, as with RocketMQ 5.
 *
 * End-of-segment blank (CommitLog.BLANK_MAGIC_CODE): totalSize = bytes left in the segment,
 * magic 0xCBD43194; the rest of the segment is unused.
 *
 * Offsets are JS numbers (exact below 2^53, far beyond any store this broker will hold); i64
 * fields go through two i32 halves, which is exact for that range and avoids BigInt.
 */
import zlib from 'node:zlib';

export const MESSAGE_MAGIC_CODE_V1 = 0xdaa320a7 | 0; // -626843481
export const MESSAGE_MAGIC_CODE_V2 = 0xdaa320ab | 0; // -626843477
export const BLANK_MAGIC_CODE = 0xcbd43194 | 0; // -875286124
/** A blank needs its totalSize and magic (CommitLog.END_FILE_MIN_BLANK_LENGTH). */
export const END_FILE_MIN_BLANK_LENGTH = 8;

/** MessageSysFlag.java */
export const MessageSysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_NOT_TYPE: 0x0,
  TRANSACTION_PREPARED_TYPE: 0x4,
  TRANSACTION_COMMIT_TYPE: 0x8,
  TRANSACTION_ROLLBACK_TYPE: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOSTADDRESS_V6: 0x20,
  NEED_UNWRAP: 0x40,
  INNER_BATCH: 0x80,
  COMPRESSION_TYPE_MASK: 0x700,
} as const;

export const transactionType = (sysFlag: number): number => sysFlag & 0xc;

/** MessageStoreConfig#maxMessageSize and the i16 properties length. */
export const MAX_PROPERTIES_LENGTH = 32767;
/** V1 stores the topic length in one signed byte. */
export const MAX_TOPIC_LENGTH_V1 = 127;

// Fixed field positions (IPv4 born host); fields after bornHost shift by 12 per IPv6 host.
export const POS_TOTAL_SIZE = 0;
export const POS_MAGIC = 4;
export const POS_BODY_CRC = 8;
export const POS_QUEUE_ID = 12;
export const POS_FLAG = 16;
export const POS_QUEUE_OFFSET = 20;
export const POS_PHYSICAL_OFFSET = 28;
export const POS_SYS_FLAG = 36;
export const POS_BORN_TIMESTAMP = 40;
export const POS_BORN_HOST = 48;
/** The smallest possible record: IPv4 hosts, empty body, topic and properties. */
export const MIN_RECORD_SIZE = 91;

/** Property names used by the store (MessageConst.java). */
export const PROPERTY_KEYS = 'KEYS';
export const PROPERTY_TAGS = 'TAGS';
/** MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX */
export const PROPERTY_UNIQ_KEY = 'UNIQ_KEY';
/** MessageConst.PROPERTY_CRC32: the whole-record CRC property, always the last one. */
export const PROPERTY_CRC32 = '__CRC32#';
/** CommitLog.CRC32_RESERVED_LEN: `__CRC32#` 0x01 + 10 digits + 0x02. */
export const CRC32_RESERVED_LENGTH = 20;
const CRC32_TRAILER_PREFIX = Buffer.from(`${PROPERTY_CRC32}\u0001`, 'latin1');
const CRC32_PLACEHOLDER = Buffer.from(`${PROPERTY_CRC32}\u00010000000000\u0002`, 'latin1');

const NAME_VALUE_SEPARATOR = '\u0001';
const PROPERTY_SEPARATOR = '\u0002';
const TWO_POW_32 = 4294967296;

export class MessageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageDecodeError';
  }
}

/** The fields a record takes from the message put: what a put hands the store (MessageToStore) and a decode gives back. */
export interface MessageBase {
  topic: string;
  queueId: number;
  flag: number;
  body: Buffer;
  properties: Record<string, string>;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
}

/** MessageExt as decoded from a stored record. `body` is as stored (compressed when sysFlag 0x1). */
export interface MessageExt extends MessageBase {
  storeTimestamp: number;
  storeHost: string;
  queueOffset: number;
  commitLogOffset: number;
  bodyCRC: number;
  storeSize: number;
  /** Offset message id (storeHost + commitLogOffset), MessageDecoder.createMessageId. */
  msgId: string;
}

// ---------------------------------------------------------------------------------------------
// i64 helpers

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, value: number, pos: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

// ---------------------------------------------------------------------------------------------
// CRC and tag hash

/** UtilAll.crc32(body) & 0x7FFFFFFF, as CommitLog stores it. */
export function bodyCrc32(body: Uint8Array): number {
  return zlib.crc32(body) & 0x7fffffff;
}

/** crc32 of record[pos, pos + size - 20) & 0x7FFFFFFF: the value the `__CRC32#` trailer holds. */
export function recordCrc32(buf: Buffer, pos: number, size: number): number {
  return zlib.crc32(buf.subarray(pos, pos + size - CRC32_RESERVED_LENGTH)) & 0x7fffffff;
}

/** Fills the digits of the trailer that ends the record at pos (MessageDecoder.createCrc32). */
export function sealRecordCrc(buf: Buffer, pos: number, size: number): void {
  let crc = recordCrc32(buf, pos, size);
  const digits = pos + size - 11;
  for (let i = 0; i < 10; i++) {
    buf[digits + i] = 0x30 + (crc % 10);
    crc = Math.floor(crc / 10);
  }
}

/** Extra property bytes the trailer adds to an encoded properties string (a separator if it lacks its last one). */
export function recordCrcExtraLength(properties: string): number {
  return CRC32_RESERVED_LENGTH + (properties.length > 0 && !properties.endsWith(PROPERTY_SEPARATOR) ? 1 : 0);
}

export type RecordCrcCheck = 'OK' | 'ABSENT' | 'MISMATCH';

/**
 * Checks the `__CRC32#` trailer of the record at pos (size bytes, properties `propertiesLength`
 * bytes long). ABSENT: the last 20 bytes are not a trailer (a record written without one).
 */
export function checkRecordCrc(buf: Buffer, pos: number, size: number, propertiesLength: number): RecordCrcCheck {
  if (propertiesLength < CRC32_RESERVED_LENGTH) return 'ABSENT';
  const t = pos + size - CRC32_RESERVED_LENGTH;
  if (buf.compare(CRC32_TRAILER_PREFIX, 0, CRC32_TRAILER_PREFIX.length, t, t + 9) !== 0 || buf[t + 19] !== 0x02) return 'ABSENT';
  let stored = 0;
  for (let i = 9; i >= 0; i--) {
    const d = (buf[t + 9 + i] as number) - 0x30;
    if (d < 0 || d > 9) return 'MISMATCH';
    stored = stored * 10 + d;
  }
  return stored === recordCrc32(buf, pos, size) ? 'OK' : 'MISMATCH';
}

/** Java String.hashCode over UTF-16 code units, wrapping at 32 bits. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Hash of one tag string, as SubscriptionData.codeSet holds it (FilterAPI.buildSubscriptionData). */
export const tagsHashCode = javaStringHashCode;

/** MessageExtBrokerInner.tagsString2tagsCode: 0 for no tag. */
export function tagsString2tagsCode(tags: string | undefined): number {
  return tags ? javaStringHashCode(tags) : 0;
}

// ---------------------------------------------------------------------------------------------
// Properties string (MessageDecoder.messageProperties2String / string2messageProperties)

export function encodeProperties(properties: Record<string, string>): string {
  let s = '';
  for (const key in properties) {
    const value = properties[key];
    if (value === undefined || value === null) continue;
    s += key + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
  }
  return s;
}

/** Pairs with an empty key or value are dropped, as Java's parser does. Null prototype: keys are data. */
export function decodeProperties(s: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let start = 0;
  const len = s.length;
  while (start < len) {
    let end = s.indexOf(PROPERTY_SEPARATOR, start);
    if (end < 0) end = len;
    const sep = s.indexOf(NAME_VALUE_SEPARATOR, start);
    if (sep > start && sep < end - 1) out[s.slice(start, sep)] = s.slice(sep + 1, end);
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hosts: "ip:port" <-> 8 bytes (IPv4) or 20 bytes (IPv6)

const hostCache = new Map<string, Buffer>();

/** Encodes "a.b.c.d:port", "[v6]:port" or "v6:port" (IPv4-mapped IPv6 becomes IPv4). Unparsable → 0.0.0.0. */
export function encodeHost(address: string): Buffer {
  const cached = hostCache.get(address);
  if (cached) return cached;
  const bytes = parseHost(address);
  if (hostCache.size >= 4096) hostCache.clear();
  hostCache.set(address, bytes);
  return bytes;
}

function parseHost(address: string): Buffer {
  const colon = address.lastIndexOf(':');
  let ip = colon >= 0 ? address.slice(0, colon) : address;
  const port = colon >= 0 ? Number(address.slice(colon + 1)) : 0;
  const portValue = Number.isInteger(port) && port >= 0 && port <= 0xffffffff ? port : 0;
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1] as string;
  if (!ip.includes(':')) {
    const out = Buffer.alloc(8);
    const parts = ip.split('.');
    if (parts.length === 4) {
      for (let i = 0; i < 4; i++) {
        const n = Number(parts[i]);
        out[i] = Number.isInteger(n) && n >= 0 && n <= 255 ? n : 0;
      }
    }
    out.writeUInt32BE(portValue, 4);
    return out;
  }
  const out = Buffer.alloc(20);
  const groups = expandIpv6(ip);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(groups[i] ?? 0, i * 2);
  out.writeUInt32BE(portValue, 16);
  return out;
}

function expandIpv6(ip: string): number[] {
  const halves = ip.split('::');
  const parse = (part: string | undefined): number[] => {
    if (!part) return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = g.split('.').map(Number);
        out.push((((v4[0] ?? 0) << 8) | (v4[1] ?? 0)) & 0xffff, (((v4[2] ?? 0) << 8) | (v4[3] ?? 0)) & 0xffff);
      } else {
        const n = parseInt(g, 16);
        out.push(Number.isFinite(n) ? n & 0xffff : 0);
      }
    }
    return out;
  };
  const head = parse(halves[0]);
  if (halves.length === 1) return head;
  const tail = parse(halves[1]);
  return [...head, ...new Array<number>(Math.max(0, 8 - head.length - tail.length)).fill(0), ...tail];
}

export function decodeHost(buf: Buffer, pos: number, ipv6: boolean): string {
  if (!ipv6) {
    return `${buf[pos]}.${buf[pos + 1]}.${buf[pos + 2]}.${buf[pos + 3]}:${buf.readInt32BE(pos + 4)}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(pos + i * 2).toString(16));
  return `[${groups.join(':')}]:${buf.readInt32BE(pos + 16)}`;
}

// ---------------------------------------------------------------------------------------------
// Offset message ids (MessageDecoder.createMessageId / decodeMessageId)

/** Upper-case hex of the store host bytes: the constant prefix of every offset msgId of a broker. */
export function messageIdPrefix(storeHost: string): string {
  return encodeHost(storeHost).toString('hex').toUpperCase();
}

export function offsetHex(offset: number): string {
  return offset.toString(16).toUpperCase().padStart(16, '0');
}

export function createMessageId(storeHost: string, commitLogOffset: number): string {
  return messageIdPrefix(storeHost) + offsetHex(commitLogOffset);
}

export function decodeMessageId(msgId: string): { address: string; offset: number } {
  if (!/^[0-9a-fA-F]+$/.test(msgId) || (msgId.length !== 32 && msgId.length !== 56)) {
    throw new MessageDecodeError(`not an offset message id: ${msgId}`);
  }
  const bytes = Buffer.from(msgId, 'hex');
  const ipv6 = bytes.length === 28;
  const address = decodeHost(bytes, 0, ipv6);
  return { address, offset: readInt64(bytes, ipv6 ? 20 : 8) };
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Bytes of a V1 record for these part lengths (hosts 8 bytes for IPv4, 20 for IPv6). */
export function storedMessageSize(
  bodyLength: number,
  topicLength: number,
  propertiesLength: number,
  bornHostLength = 8,
  storeHostLength = 8,
): number {
  return 68 + bornHostLength + storeHostLength + 4 + bodyLength + 1 + topicLength + 2 + propertiesLength;
}

/** Everything needed to write one record; host and topic bytes are pre-encoded by the caller. */
export interface RecordEncodeInput {
  topicBytes: Buffer;
  queueId: number;
  flag: number;
  body: Buffer;
  /** Already encoded properties string. */
  properties: string;
  /** The record's sysFlag; host IPv6 bits are recomputed from the host byte lengths. */
  sysFlag: number;
  bornTimestamp: number;
  bornHostBytes: Buffer;
  storeTimestamp: number;
  storeHostBytes: Buffer;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  queueOffset: number;
  physicalOffset: number;
  bodyCRC: number;
  /** Append the `__CRC32#` trailer and seal it (size must include recordCrcExtraLength(properties)). */
  recordCrc?: boolean;
}

/**
 * Writes a V1 record at `pos` (its physical offset given apart, as the log assigns it last).
 * The caller guarantees room for
 * storedMessageSize(body, topic, 3 * properties.length, hosts) bytes; returns the record size.
 * Properties are written last so their UTF-8 length comes from the write itself.
 */
export function writeStoredMessage(target: Buffer, pos: number, m: Omit<RecordEncodeInput, 'physicalOffset'>, physicalOffset: number): number {
  const bornHostLength = m.bornHostBytes.length;
  const storeHostLength = m.storeHostBytes.length;
  let sysFlag = m.sysFlag & ~(MessageSysFlag.BORNHOST_V6 | MessageSysFlag.STOREHOSTADDRESS_V6);
  if (bornHostLength === 20) sysFlag |= MessageSysFlag.BORNHOST_V6;
  if (storeHostLength === 20) sysFlag |= MessageSysFlag.STOREHOSTADDRESS_V6;

  target.writeInt32BE(MESSAGE_MAGIC_CODE_V1, pos + POS_MAGIC);
  target.writeInt32BE(m.bodyCRC, pos + POS_BODY_CRC);
  target.writeInt32BE(m.queueId, pos + POS_QUEUE_ID);
  target.writeInt32BE(m.flag | 0, pos + POS_FLAG);
  writeInt64(target, m.queueOffset, pos + POS_QUEUE_OFFSET);
  writeInt64(target, physicalOffset, pos + POS_PHYSICAL_OFFSET);
  target.writeInt32BE(sysFlag | 0, pos + POS_SYS_FLAG);
  writeInt64(target, m.bornTimestamp, pos + POS_BORN_TIMESTAMP);
  let p = pos + POS_BORN_HOST;
  m.bornHostBytes.copy(target, p);
  p += bornHostLength;
  writeInt64(target, m.storeTimestamp, p);
  p += 8;
  m.storeHostBytes.copy(target, p);
  p += storeHostLength;
  target.writeInt32BE(m.reconsumeTimes | 0, p);
  p += 4;
  writeInt64(target, m.preparedTransactionOffset, p);
  p += 8;
  target.writeInt32BE(m.body.length, p);
  p += 4;
  m.body.copy(target, p);
  p += m.body.length;
  target.writeUInt8(m.topicBytes.length, p);
  p += 1;
  m.topicBytes.copy(target, p);
  p += m.topicBytes.length;
  let propertiesLength = m.properties.length === 0 ? 0 : target.write(m.properties, p + 2, 'utf8');
  if (m.recordCrc) {
    let q = p + 2 + propertiesLength;
    if (propertiesLength > 0 && target[q - 1] !== 0x02) {
      target[q++] = 0x02; // RocketMQ's needAppendLastPropertySeparator
      propertiesLength++;
    }
    CRC32_PLACEHOLDER.copy(target, q);
    propertiesLength += CRC32_RESERVED_LENGTH;
  }
  target.writeInt16BE(propertiesLength, p);
  p += 2 + propertiesLength;
  const size = p - pos;
  target.writeInt32BE(size, pos + POS_TOTAL_SIZE);
  if (m.recordCrc) sealRecordCrc(target, pos, size);
  return size;
}

/** Full message fields for the allocating encoder (tests, tools, replication checks). */
export interface EncodableMessage {
  topic: string;
  queueId: number;
  flag: number;
  body: Buffer;
  properties: Record<string, string> | string;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  storeTimestamp: number;
  storeHost: string;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  queueOffset: number;
  commitLogOffset: number;
  /** Defaults to bodyCrc32(body). */
  bodyCRC?: number;
  /** Append the whole-record `__CRC32#` trailer, as the store does. */
  recordCrc?: boolean;
}

/** Encodes one V1 record into a new buffer (MessageDecoder.encode). */
export function encodeMessage(m: EncodableMessage): Buffer {
  const topicBytes = Buffer.from(m.topic, 'utf8');
  if (topicBytes.length > MAX_TOPIC_LENGTH_V1) throw new MessageDecodeError(`topic longer than ${MAX_TOPIC_LENGTH_V1} bytes`);
  const properties = typeof m.properties === 'string' ? m.properties : encodeProperties(m.properties);
  const propertiesLength = Buffer.byteLength(properties, 'utf8') + (m.recordCrc ? recordCrcExtraLength(properties) : 0);
  if (propertiesLength > MAX_PROPERTIES_LENGTH) throw new MessageDecodeError('properties longer than 32767 bytes');
  const bornHostBytes = encodeHost(m.bornHost);
  const storeHostBytes = encodeHost(m.storeHost);
  const size = storedMessageSize(m.body.length, topicBytes.length, propertiesLength, bornHostBytes.length, storeHostBytes.length);
  const out = Buffer.allocUnsafe(size);
  writeStoredMessage(out, 0, {
    topicBytes,
    queueId: m.queueId,
    flag: m.flag,
    body: m.body,
    properties,
    sysFlag: m.sysFlag,
    bornTimestamp: m.bornTimestamp,
    bornHostBytes,
    storeTimestamp: m.storeTimestamp,
    storeHostBytes,
    reconsumeTimes: m.reconsumeTimes,
    preparedTransactionOffset: m.preparedTransactionOffset,
    queueOffset: m.queueOffset,
    bodyCRC: m.bodyCRC ?? bodyCrc32(m.body),
    recordCrc: m.recordCrc,
  }, m.commitLogOffset);
  return out;
}

/** Writes an end-of-segment blank (totalSize = bytes left in the segment). */
export function writeBlank(target: Buffer, pos: number, remaining: number): void {
  target.writeInt32BE(remaining, pos);
  target.writeInt32BE(BLANK_MAGIC_CODE, pos + 4);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export type DecodeOutcome =
  | { ok: true; message: MessageExt; consumed: number }
  | { ok: false; reason: string };

/**
 * Decodes the record at `pos` field by field, like MessageDecoder.decode. It does not trust
 * totalSize for the record's extent (old brokers wrote wrong sizes for compressed messages), but
 * every field must fit in the buffer.
 */
export function tryDecodeMessage(buf: Buffer, pos = 0): DecodeOutcome {
  const end = buf.length;
  if (end - pos < MIN_RECORD_SIZE) return { ok: false, reason: 'truncated header' };
  const storeSize = buf.readInt32BE(pos);
  if (storeSize <= 0) return { ok: false, reason: `totalSize ${storeSize}` };
  const magic = buf.readInt32BE(pos + POS_MAGIC);
  if (magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) {
    return { ok: false, reason: magic === BLANK_MAGIC_CODE ? 'blank' : `unknown magic 0x${(magic >>> 0).toString(16)}` };
  }
  const sysFlag = buf.readInt32BE(pos + POS_SYS_FLAG);
  const bornV6 = (sysFlag & MessageSysFlag.BORNHOST_V6) !== 0;
  const storeV6 = (sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6) !== 0;
  const bornHostLength = bornV6 ? 20 : 8;
  const storeHostLength = storeV6 ? 20 : 8;
  let p = pos + POS_BORN_HOST;
  if (p + bornHostLength + 8 + storeHostLength + 16 > end) return { ok: false, reason: 'truncated header' };
  const bornHost = decodeHost(buf, p, bornV6);
  p += bornHostLength;
  const storeTimestamp = readInt64(buf, p);
  p += 8;
  const storeHostStart = p;
  const storeHost = decodeHost(buf, p, storeV6);
  p += storeHostLength;
  const reconsumeTimes = buf.readInt32BE(p);
  p += 4;
  const preparedTransactionOffset = readInt64(buf, p);
  p += 8;
  const bodyLength = buf.readInt32BE(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength > end) return { ok: false, reason: 'truncated body' };
  const body = Buffer.from(buf.subarray(p, p + bodyLength));
  p += bodyLength;
  const topicLengthSize = magic === MESSAGE_MAGIC_CODE_V2 ? 2 : 1;
  if (p + topicLengthSize > end) return { ok: false, reason: 'truncated topic' };
  const topicLength = topicLengthSize === 2 ? buf.readUInt16BE(p) : buf.readUInt8(p);
  p += topicLengthSize;
  if (p + topicLength + 2 > end) return { ok: false, reason: 'truncated topic' };
  const topic = buf.toString('utf8', p, p + topicLength);
  p += topicLength;
  const propertiesLength = buf.readInt16BE(p);
  p += 2;
  if (propertiesLength < 0 || p + propertiesLength > end) return { ok: false, reason: 'truncated properties' };
  const properties = decodeProperties(buf.toString('utf8', p, p + propertiesLength));
  p += propertiesLength;
  const commitLogOffset = readInt64(buf, pos + POS_PHYSICAL_OFFSET);
  const msgId = buf.toString('hex', storeHostStart, storeHostStart + storeHostLength).toUpperCase() + offsetHex(commitLogOffset);
  return {
    ok: true,
    consumed: p - pos,
    message: {
      topic,
      queueId: buf.readInt32BE(pos + POS_QUEUE_ID),
      flag: buf.readInt32BE(pos + POS_FLAG),
      body,
      properties,
      sysFlag,
      bornTimestamp: readInt64(buf, pos + POS_BORN_TIMESTAMP),
      bornHost,
      storeTimestamp,
      storeHost,
      reconsumeTimes,
      preparedTransactionOffset,
      queueOffset: readInt64(buf, pos + POS_QUEUE_OFFSET),
      commitLogOffset,
      bodyCRC: buf.readInt32BE(pos + POS_BODY_CRC),
      storeSize,
      msgId,
    },
  };
}

/** Decodes one record or throws MessageDecodeError. */
export function decodeMessage(buf: Buffer, pos = 0): MessageExt {
  const r = tryDecodeMessage(buf, pos);
  if (!r.ok) throw new MessageDecodeError(r.reason);
  return r.message;
}

/**
 * Decodes records back to back (a pull body) and stops at the first thing that is not a whole
 * record: totalSize ≤ 0, an unknown magic, or too few bytes left. Never throws.
 */
export function decodeMessages(buf: Buffer): MessageExt[] {
  const out: MessageExt[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const r = tryDecodeMessage(buf, pos);
    if (!r.ok) break;
    out.push(r.message);
    pos += r.consumed;
  }
  return out;
}

/** Inflates a body stored with sysFlag COMPRESSED (zlib, compression type 0 or ZLIB). */
export function uncompressedBody(message: Pick<MessageExt, 'body' | 'sysFlag'>): Buffer {
  if ((message.sysFlag & MessageSysFlag.COMPRESSED) === 0) return message.body;
  const type = (message.sysFlag & MessageSysFlag.COMPRESSION_TYPE_MASK) >> 8;
  if (type !== 0 && type !== 3) throw new MessageDecodeError(`unsupported compression type ${type}`);
  return zlib.inflateSync(message.body);
}

// ---------------------------------------------------------------------------------------------
// Recovery check (CommitLog#checkMessageAndReturnSize)

/** What the dispatcher needs from a record: enough to build consume-queue and index entries. */
export interface RecordInfo {
  topic: string;
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
  size: number;
  sysFlag: number;
  storeTimestamp: number;
  properties: Record<string, string>;
}

export type RecordCheck =
  | { kind: 'MESSAGE'; info: RecordInfo }
  | { kind: 'BLANK'; size: number }
  /** The record claims more bytes than `end - pos`; the caller reads more or calls it torn. */
  | { kind: 'NEED_MORE'; size: number }
  | { kind: 'CORRUPT'; reason: string };

/** Where the variable parts of a record lie (absolute positions in the buffer). */
interface RecordLayout {
  totalSize: number;
  sysFlag: number;
  storeTimestamp: number;
  bodyStart: number;
  bodyLength: number;
  topicStart: number;
  topicLength: number;
  propertiesStart: number;
  propertiesLength: number;
}

/**
 * Parses the layout of the message record at `pos` (magic already known to be a message) whose
 * whole `totalSize` bytes are in the buffer; a string says what does not add up.
 */
function recordLayout(buf: Buffer, pos: number, totalSize: number, magic: number): RecordLayout | string {
  const limit = pos + totalSize;
  const sysFlag = buf.readInt32BE(pos + POS_SYS_FLAG);
  const bornHostLength = sysFlag & MessageSysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostLength = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 20 : 8;
  let p = pos + POS_BORN_HOST + bornHostLength;
  if (p + 8 + storeHostLength + 16 > limit) return 'header longer than totalSize';
  const storeTimestamp = readInt64(buf, p);
  p += 8 + storeHostLength + 4 + 8;
  const bodyLength = buf.readInt32BE(p);
  p += 4;
  if (bodyLength < 0 || p + bodyLength > limit) return `bad body length ${bodyLength}`;
  const bodyStart = p;
  p += bodyLength;
  const topicLengthSize = magic === MESSAGE_MAGIC_CODE_V2 ? 2 : 1;
  if (p + topicLengthSize > limit) return 'topic past totalSize';
  const topicLength = topicLengthSize === 2 ? buf.readUInt16BE(p) : buf.readUInt8(p);
  p += topicLengthSize;
  if (p + topicLength + 2 > limit) return 'topic past totalSize';
  const topicStart = p;
  p += topicLength;
  const propertiesLength = buf.readInt16BE(p);
  p += 2;
  if (propertiesLength < 0 || p + propertiesLength !== limit) return `totalSize ${totalSize} does not match the fields`;
  return { totalSize, sysFlag, storeTimestamp, bodyStart, bodyLength, topicStart, topicLength, propertiesStart: p, propertiesLength };
}

/** CRC checks of a parsed record: whole-record trailer (required or not), else the body CRC. */
function checkRecordCrcs(buf: Buffer, pos: number, l: RecordLayout, requireRecordCrc: boolean, alwaysBodyCrc: boolean): string | null {
  const whole = checkRecordCrc(buf, pos, l.totalSize, l.propertiesLength);
  if (whole === 'MISMATCH') return 'record CRC mismatch';
  if (whole === 'ABSENT' && requireRecordCrc) return 'no record CRC (__CRC32#)';
  if (whole === 'ABSENT' || alwaysBodyCrc) {
    const crc = bodyCrc32(buf.subarray(l.bodyStart, l.bodyStart + l.bodyLength));
    if (crc !== buf.readInt32BE(pos + POS_BODY_CRC)) return 'body CRC mismatch';
  }
  return null;
}

/**
 * Strict check of the record at `pos` within buf[pos, end): magic, totalSize equal to the
 * computed length, and with `verifyCRC` the whole-record CRC (when the record has one; required
 * with `requireRecordCrc`) and the body CRC. Used by recovery and by readers that must not trust
 * what they are pointed at. Nothing is copied except topic and properties strings.
 */
export function checkStoredRecord(buf: Buffer, pos: number, end: number, verifyCRC: boolean, requireRecordCrc = false): RecordCheck {
  if (end - pos < 8) return { kind: 'NEED_MORE', size: 8 };
  const totalSize = buf.readInt32BE(pos);
  const magic = buf.readInt32BE(pos + 4);
  if (magic === BLANK_MAGIC_CODE) {
    return totalSize >= END_FILE_MIN_BLANK_LENGTH ? { kind: 'BLANK', size: totalSize } : { kind: 'CORRUPT', reason: `blank with totalSize ${totalSize}` };
  }
  if (magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) {
    return { kind: 'CORRUPT', reason: totalSize === 0 && magic === 0 ? 'zeroes' : `bad magic 0x${(magic >>> 0).toString(16)}` };
  }
  if (totalSize < MIN_RECORD_SIZE) return { kind: 'CORRUPT', reason: `totalSize ${totalSize} too small` };
  if (end - pos < totalSize) return { kind: 'NEED_MORE', size: totalSize };
  const l = recordLayout(buf, pos, totalSize, magic);
  if (typeof l === 'string') return { kind: 'CORRUPT', reason: l };
  if (verifyCRC) {
    const problem = checkRecordCrcs(buf, pos, l, requireRecordCrc, true);
    if (problem) return { kind: 'CORRUPT', reason: problem };
  }
  return {
    kind: 'MESSAGE',
    info: {
      topic: buf.toString('utf8', l.topicStart, l.topicStart + l.topicLength),
      queueId: buf.readInt32BE(pos + POS_QUEUE_ID),
      queueOffset: readInt64(buf, pos + POS_QUEUE_OFFSET),
      physicalOffset: readInt64(buf, pos + POS_PHYSICAL_OFFSET),
      size: totalSize,
      sysFlag: l.sysFlag,
      storeTimestamp: l.storeTimestamp,
      properties: decodeProperties(buf.toString('utf8', l.propertiesStart, l.propertiesStart + l.propertiesLength)),
    },
  };
}

/**
 * The read-path check (pull, view, query): is `raw` exactly one intact message record stored at
 * `physicalOffset`? Layout, offset field and the whole-record CRC (or, for a record written
 * without one and not required to have one, the body CRC). Returns null when intact, else why
 * not. Allocates nothing; its cost is one CRC pass over the record.
 */
export function verifyStoredRecord(raw: Buffer, physicalOffset: number, requireRecordCrc: boolean): string | null {
  if (raw.length < MIN_RECORD_SIZE) return `record of ${raw.length} bytes is too small`;
  const totalSize = raw.readInt32BE(0);
  if (totalSize !== raw.length) return `totalSize ${totalSize} where ${raw.length} bytes were expected`;
  const magic = raw.readInt32BE(POS_MAGIC);
  if (magic !== MESSAGE_MAGIC_CODE_V1 && magic !== MESSAGE_MAGIC_CODE_V2) return `bad magic 0x${(magic >>> 0).toString(16)}`;
  if (readInt64(raw, POS_PHYSICAL_OFFSET) !== physicalOffset) return `physicalOffset field ${readInt64(raw, POS_PHYSICAL_OFFSET)} at ${physicalOffset}`;
  const l = recordLayout(raw, 0, totalSize, magic);
  if (typeof l === 'string') return l;
  return checkRecordCrcs(raw, 0, l, requireRecordCrc, false);
}

/** The topic of a record whose layout is known good (verifyStoredRecord passed). */
export function recordTopic(buf: Buffer, pos = 0): string {
  const magic = buf.readInt32BE(pos + POS_MAGIC);
  const sysFlag = buf.readInt32BE(pos + POS_SYS_FLAG);
  const bornHostLength = sysFlag & MessageSysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostLength = sysFlag & MessageSysFlag.STOREHOSTADDRESS_V6 ? 20 : 8;
  let p = pos + POS_BORN_HOST + bornHostLength + 8 + storeHostLength + 12;
  p += 4 + buf.readInt32BE(p);
  const v2 = magic === MESSAGE_MAGIC_CODE_V2;
  const topicLength = v2 ? buf.readUInt16BE(p) : buf.readUInt8(p);
  p += v2 ? 2 : 1;
  return buf.toString('utf8', p, p + topicLength);
}

/** storeTimestamp of a record whose first 80 bytes are in buf at pos. */
export function readStoreTimestamp(buf: Buffer, pos: number): number {
  const sysFlag = buf.readInt32BE(pos + POS_SYS_FLAG);
  const bornHostLength = sysFlag & MessageSysFlag.BORNHOST_V6 ? 20 : 8;
  return readInt64(buf, pos + POS_BORN_HOST + bornHostLength);
}

// ---------------------------------------------------------------------------------------------
// Batch body (SEND_BATCH_MESSAGE; MessageDecoder.encodeMessages / decodeMessages)
//
//   totalSize i32 | magic i32 (0) | bodyCRC i32 (0) | flag i32 | bodyLength i32 + body
//   | propertiesLength i16 + properties        (repeated; no topic, it comes from the header)

export interface BatchItem {
  flag: number;
  body: Buffer;
  properties: Record<string, string>;
}

/** Throws MessageDecodeError on a malformed batch (the broker answers MESSAGE_ILLEGAL). */
export function decodeBatchBody(buf: Buffer): BatchItem[] {
  const out: BatchItem[] = [];
  let p = 0;
  while (p < buf.length) {
    if (buf.length - p < 22) throw new MessageDecodeError(`batch item at ${p}: truncated header`);
    const totalSize = buf.readInt32BE(p);
    if (totalSize < 22) throw new MessageDecodeError(`batch item at ${p}: totalSize ${totalSize}`);
    const flag = buf.readInt32BE(p + 12);
    const bodyLength = buf.readInt32BE(p + 16);
    let q = p + 20;
    if (bodyLength < 0 || q + bodyLength + 2 > buf.length) throw new MessageDecodeError(`batch item at ${p}: bad body length`);
    const body = Buffer.from(buf.subarray(q, q + bodyLength));
    q += bodyLength;
    const propertiesLength = buf.readInt16BE(q);
    q += 2;
    if (propertiesLength < 0 || q + propertiesLength > buf.length) throw new MessageDecodeError(`batch item at ${p}: bad properties length`);
    const properties = decodeProperties(buf.toString('utf8', q, q + propertiesLength));
    q += propertiesLength;
    out.push({ flag, body, properties });
    p = q;
  }
  return out;
}

export function encodeBatchBody(items: BatchItem[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    const properties = Buffer.from(encodeProperties(item.properties), 'utf8');
    const size = 20 + item.body.length + 2 + properties.length;
    const b = Buffer.alloc(size);
    b.writeInt32BE(size, 0);
    b.writeInt32BE(item.flag | 0, 12);
    b.writeInt32BE(item.body.length, 16);
    item.body.copy(b, 20);
    b.writeInt16BE(properties.length, 20 + item.body.length);
    properties.copy(b, 22 + item.body.length);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
