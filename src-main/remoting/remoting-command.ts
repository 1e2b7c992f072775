/**
 * RemotingCommand: the unit every RocketMQ remoting frame carries.
 * RocketMQ: remoting/protocol/RemotingCommand.java. Field names match the JSON header on the wire.
 */
export const RESPONSE_FLAG = 0x1;
export const ONEWAY_FLAG = 0x2;

/** LanguageCode names in ordinal order (binary headers carry the ordinal). */
export const LANGUAGE_CODES = [
  'JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST', 'NODE_JS',
] as const;

/** Our MQVersion ordinal: V4_9_8 (409). Clients use it to choose standard JSON route data. */
export const MQ_VERSION = 409;

export interface RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string;
  /** The "custom header". Always string values once decoded (ali-ons sends numbers and booleans). */
  extFields?: Record<string, string>;
  body?: Buffer;
}

export const isResponse = (cmd: RemotingCommand): boolean => (cmd.flag & RESPONSE_FLAG) !== 0;
export const isOneway = (cmd: RemotingCommand): boolean => (cmd.flag & ONEWAY_FLAG) !== 0;

/** Header values go on the wire as strings, nulls skipped, as Java's makeCustomHeaderToNet does. */
export type HeaderValues = Record<string, string | number | bigint | boolean | null | undefined>;

export function toExtFields(values: HeaderValues | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined) continue;
    out[k] = String(v);
  }
  return out;
}

let nextOpaque = 1;
/** Opaques are per process and wrap at int32, as Java's AtomicInteger does. */
export function allocOpaque(): number {
  const o = nextOpaque;
  nextOpaque = nextOpaque >= 0x7fffffff ? 1 : nextOpaque + 1;
  return o;
}

export function createRequest(code: number, header?: HeaderValues, body?: Buffer, oneway = false): RemotingCommand {
  return {
    code,
    language: 'JAVA',
    version: MQ_VERSION,
    opaque: allocOpaque(),
    flag: oneway ? ONEWAY_FLAG : 0,
    extFields: toExtFields(header),
    body,
  };
}

export function createResponse(
  request: RemotingCommand,
  code: number,
  remark?: string,
  header?: HeaderValues,
  body?: Buffer,
): RemotingCommand {
  return {
    code,
    language: 'JAVA',
    version: MQ_VERSION,
    opaque: request.opaque,
    flag: RESPONSE_FLAG,
    remark,
    extFields: toExtFields(header),
    body,
  };
}
