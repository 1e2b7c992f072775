/**
 * RocketMQ remoting frame codec. RocketMQ: NettyEncoder / NettyDecoder / RemotingCommand.
 *
 *   0        4                     8                 8+headerLength
 *   +--------+---------------------+-----------------+-----------+
 *   | length | serType<<24|hdrLen  | header          | body      |
 *   +--------+---------------------+-----------------+-----------+
 *   length = 4 + headerLength + bodyLength (does not count itself), big-endian.
 *   serType 0 = JSON header, 1 = ROCKETMQ binary header (RocketMQSerializable).
 */
import { LANGUAGE_CODES, type RemotingCommand } from './remoting-command.js';

export const SERIALIZE_JSON = 0;
export const SERIALIZE_ROCKETMQ = 1;
/** com.rocketmq.remoting.frameMaxLength default. */
export const DEFAULT_MAX_FRAME_LENGTH = 16 * 1024 * 1024;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Encodes a command with a JSON header (ali-ons reads only JSON; Java reads both). */
export function encodeCommand(cmd: RemotingCommand): Buffer {
  const header: Record<string, unknown> = {
    code: cmd.code,
    language: cmd.language,
    version: cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag,
  };
  if (cmd.remark !== undefined && cmd.remark !== null) header.remark = cmd.remark;
  if (cmd.extFields) header.extFields = cmd.extFields;
  header.serializeTypeCurrentRPC = 'JSON';
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const bodyLength = cmd.body ? cmd.body.length : 0;
  const frame = Buffer.allocUnsafe(8 + headerBytes.length + bodyLength);
  frame.writeInt32BE(4 + headerBytes.length + bodyLength, 0);
  frame.writeInt32BE(((SERIALIZE_JSON & 0xff) << 24) | (headerBytes.length & 0xffffff), 4);
  headerBytes.copy(frame, 8);
  if (cmd.body && bodyLength > 0) cmd.body.copy(frame, 8 + headerBytes.length);
  return frame;
}

/** Encodes with the ROCKETMQ binary header (RocketMQSerializable.rocketMQProtocolEncode). */
export function encodeCommandBinary(cmd: RemotingCommand): Buffer {
  const remark = cmd.remark ? Buffer.from(cmd.remark, 'utf8') : null;
  const entries: Array<[Buffer, Buffer]> = [];
  let extLength = 0;
  for (const [k, v] of Object.entries(cmd.extFields ?? {})) {
    const kb = Buffer.from(k, 'utf8');
    const vb = Buffer.from(v, 'utf8');
    entries.push([kb, vb]);
    extLength += 2 + kb.length + 4 + vb.length;
  }
  const headerLength = 2 + 1 + 2 + 4 + 4 + 4 + (remark ? remark.length : 0) + 4 + extLength;
  const bodyLength = cmd.body ? cmd.body.length : 0;
  const frame = Buffer.allocUnsafe(8 + headerLength + bodyLength);
  let p = 0;
  frame.writeInt32BE(4 + headerLength + bodyLength, p); p += 4;
  frame.writeInt32BE((SERIALIZE_ROCKETMQ << 24) | headerLength, p); p += 4;
  frame.writeInt16BE(cmd.code, p); p += 2;
  const lang = LANGUAGE_CODES.indexOf(cmd.language as (typeof LANGUAGE_CODES)[number]);
  frame.writeInt8(lang < 0 ? 0 : lang, p); p += 1;
  frame.writeInt16BE(cmd.version, p); p += 2;
  frame.writeInt32BE(cmd.opaque, p); p += 4;
  frame.writeInt32BE(cmd.flag, p); p += 4;
  frame.writeInt32BE(remark ? remark.length : 0, p); p += 4;
  if (remark) { remark.copy(frame, p); p += remark.length; }
  frame.writeInt32BE(extLength, p); p += 4;
  for (const [kb, vb] of entries) {
    frame.writeInt16BE(kb.length, p); p += 2;
    kb.copy(frame, p); p += kb.length;
    frame.writeInt32BE(vb.length, p); p += 4;
    vb.copy(frame, p); p += vb.length;
  }
  if (cmd.body && bodyLength > 0) cmd.body.copy(frame, p);
  return frame;
}

/** Decodes one frame's content (everything after the length field). */
export function decodeFrameContent(content: Buffer): RemotingCommand {
  if (content.length < 4) throw new FrameError(`frame too short: ${content.length} bytes`);
  const mark = content.readInt32BE(0);
  const serializeType = (mark >>> 24) & 0xff;
  const headerLength = mark & 0xffffff;
  if (headerLength > content.length - 4) {
    throw new FrameError(`header length ${headerLength} exceeds frame content ${content.length - 4}`);
  }
  const headerBytes = content.subarray(4, 4 + headerLength);
  const body = content.length > 4 + headerLength ? content.subarray(4 + headerLength) : undefined;
  let cmd: RemotingCommand;
  if (serializeType === SERIALIZE_JSON) cmd = decodeJsonHeader(headerBytes);
  else if (serializeType === SERIALIZE_ROCKETMQ) cmd = decodeBinaryHeader(headerBytes);
  else throw new FrameError(`unknown serialize type ${serializeType}`);
  if (body) cmd.body = body;
  return cmd;
}

function decodeJsonHeader(bytes: Buffer): RemotingCommand {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new FrameError(`header is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FrameError('header is not a JSON object');
  }
  const h = parsed as Record<string, unknown>;
  const intField = (name: string, required: boolean): number => {
    const v = h[name];
    if (v === undefined || v === null) {
      if (required) throw new FrameError(`header field ${name} missing`);
      return 0;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isInteger(n)) throw new FrameError(`header field ${name} is not an integer`);
    return n;
  };
  const cmd: RemotingCommand = {
    code: intField('code', true),
    language: typeof h.language === 'string' ? h.language : 'JAVA',
    version: intField('version', false),
    opaque: intField('opaque', false),
    flag: intField('flag', false),
  };
  if (typeof h.remark === 'string') cmd.remark = h.remark;
  if (h.extFields !== undefined && h.extFields !== null) {
    if (typeof h.extFields !== 'object' || Array.isArray(h.extFields)) {
      throw new FrameError('header extFields is not an object');
    }
    const ext: Record<string, string> = {};
    // ali-ons sends numbers and booleans; Java sends strings. Coerce all to strings.
    for (const [k, v] of Object.entries(h.extFields as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      ext[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    cmd.extFields = ext;
  }
  return cmd;
}

function decodeBinaryHeader(b: Buffer): RemotingCommand {
  let p = 0;
  const need = (n: number, what: string): void => {
    if (p + n > b.length) throw new FrameError(`binary header truncated at ${what}`);
  };
  need(17, 'fixed fields');
  const code = b.readInt16BE(p); p += 2;
  const langOrdinal = b.readInt8(p); p += 1;
  const version = b.readInt16BE(p); p += 2;
  const opaque = b.readInt32BE(p); p += 4;
  const flag = b.readInt32BE(p); p += 4;
  const remarkLength = b.readInt32BE(p); p += 4;
  if (remarkLength < 0) throw new FrameError('negative remark length');
  need(remarkLength, 'remark');
  const remark = remarkLength > 0 ? b.toString('utf8', p, p + remarkLength) : undefined;
  p += remarkLength;
  need(4, 'ext length');
  const extLength = b.readInt32BE(p); p += 4;
  if (extLength < 0) throw new FrameError('negative extFields length');
  need(extLength, 'extFields');
  const extEnd = p + extLength;
  let extFields: Record<string, string> | undefined;
  if (extLength > 0) {
    extFields = {};
    while (p < extEnd) {
      if (p + 2 > extEnd) throw new FrameError('binary header truncated at ext key length');
      const kl = b.readInt16BE(p); p += 2;
      if (kl < 0 || p + kl + 4 > extEnd) throw new FrameError('binary header truncated at ext key');
      const key = b.toString('utf8', p, p + kl); p += kl;
      const vl = b.readInt32BE(p); p += 4;
      if (vl < 0 || p + vl > extEnd) throw new FrameError('binary header truncated at ext value');
      extFields[key] = b.toString('utf8', p, p + vl); p += vl;
    }
  }
  const cmd: RemotingCommand = {
    code,
    language: LANGUAGE_CODES[langOrdinal] ?? 'OTHER',
    version,
    opaque,
    flag,
  };
  if (remark !== undefined) cmd.remark = remark;
  if (extFields) cmd.extFields = extFields;
  return cmd;
}

/**
 * Incremental decoder for a TCP stream. push() returns every complete command;
 * it throws FrameError on a frame it cannot decode, after which the stream is unusable
 * (the caller drops the connection, as a Java server does).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedLength = 0;
  /** Bytes needed before the next frame can be decoded; avoids re-concatenating a large frame per chunk. */
  private needed = 4;

  constructor(private readonly maxFrameLength = DEFAULT_MAX_FRAME_LENGTH) {}

  push(chunk: Buffer): RemotingCommand[] {
    this.chunks.push(chunk);
    this.bufferedLength += chunk.length;
    if (this.bufferedLength < this.needed) return [];
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bufferedLength);
    const out: RemotingCommand[] = [];
    let p = 0;
    this.needed = 4;
    while (buf.length - p >= 4) {
      const length = buf.readInt32BE(p);
      if (length < 4) throw new FrameError(`frame length ${length} is below the minimum of 4`);
      if (length > this.maxFrameLength) {
        throw new FrameError(`frame length ${length} exceeds the limit of ${this.maxFrameLength}`);
      }
      if (buf.length - p - 4 < length) {
        this.needed = 4 + length;
        break;
      }
      out.push(decodeFrameContent(buf.subarray(p + 4, p + 4 + length)));
      p += 4 + length;
    }
    if (p < buf.length) {
      const rest = buf.subarray(p);
      this.chunks = [rest];
      this.bufferedLength = rest.length;
    } else {
      this.chunks = [];
      this.bufferedLength = 0;
    }
    return out;
  }

  /** Bytes waiting for the rest of their frame. */
  get bufferedBytes(): number {
    return this.bufferedLength;
  }
}
