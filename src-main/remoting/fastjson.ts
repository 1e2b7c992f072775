/**
 * JSON as RocketMQ's fastjson writes it, and a tolerant reader for what real clusters send.
 * fastjson writes maps with non-string keys without quotes: `{0:"addr"}` for Map<Long,String>,
 * and `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}` for Map<MessageQueue,X>.
 * Java admin tools parse those forms; ali-ons' JSON2 reads bare numeric keys.
 */

/** A map whose keys are written bare (numbers). */
export class NumberKeyMap<V> {
  constructor(readonly entries: Array<[number, V]>) {}
}

/** A map whose keys are objects written inline (MessageQueue-keyed tables). */
export class ObjectKeyMap<V> {
  constructor(readonly entries: Array<[Record<string, unknown>, V]>) {}
}

/** Serializes like fastjson: keys sorted, undefined/null omitted, special maps in fastjson's form. */
export function toFastjson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof NumberKeyMap) {
    const parts = [...value.entries].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${toFastjson(v)}`);
    return `{${parts.join(',')}}`;
  }
  if (value instanceof ObjectKeyMap) {
    return `{${value.entries.map(([k, v]) => `${toFastjson(k)}:${toFastjson(v)}`).join(',')}}`;
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => toFastjson(v)).join(',')}]`;
  if (value instanceof Map) {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of value) obj[String(k)] = v;
    return toFastjson(obj);
  }
  if (value instanceof Set) return toFastjson([...value]);
  const keys = Object.keys(value as object).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || v === null) continue;
    parts.push(`${JSON.stringify(k)}:${toFastjson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

export class FastjsonParseError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
    this.name = 'FastjsonParseError';
  }
}

/**
 * Parses standard JSON plus fastjson's bare numeric keys and object keys.
 * An object key becomes a string: its fields joined by `|` in the order topic, brokerName, queueId
 * when it is a MessageQueue, otherwise its canonical JSON text.
 */
export function parseFastjson(text: string): unknown {
  let p = 0;
  const ws = (): void => {
    while (p < text.length) {
      const c = text.charCodeAt(p);
      if (c === 32 || c === 9 || c === 10 || c === 13) p++;
      else break;
    }
  };
  const fail = (msg: string): never => {
    throw new FastjsonParseError(msg, p);
  };
  const parseValue = (): unknown => {
    ws();
    const c = text[p];
    if (c === '{') return parseObject();
    if (c === '[') return parseArray();
    if (c === '"' || c === "'") return parseString();
    if (c === 't' && text.startsWith('true', p)) { p += 4; return true; }
    if (c === 'f' && text.startsWith('false', p)) { p += 5; return false; }
    if (c === 'n' && text.startsWith('null', p)) { p += 4; return null; }
    if (c !== undefined && /[-0-9]/.test(c)) return parseNumber();
    return fail(`unexpected ${c === undefined ? 'end of input' : `character '${c}'`}`);
  };
  const parseNumber = (): number => {
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(p, p + 64));
    if (!m) return fail('bad number');
    p += m[0].length;
    return Number(m[0]);
  };
  const parseString = (): string => {
    const quote = text[p];
    const start = p;
    p++;
    let out = '';
    while (p < text.length) {
      const c = text[p]!;
      if (c === quote) { p++; return out; }
      if (c === '\\') {
        if (quote === '"') {
          // Delegate escapes to JSON.parse for exactness.
          let end = p;
          while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
          const s = JSON.parse(text.slice(start, end + 1)) as string;
          p = end + 1;
          return s;
        }
        out += text[p + 1] ?? '';
        p += 2;
        continue;
      }
      out += c;
      p++;
    }
    return fail('unterminated string');
  };
  const parseArray = (): unknown[] => {
    p++;
    const out: unknown[] = [];
    ws();
    if (text[p] === ']') { p++; return out; }
    for (;;) {
      out.push(parseValue());
      ws();
      if (text[p] === ',') { p++; continue; }
      if (text[p] === ']') { p++; return out; }
      return fail('expected , or ]');
    }
  };
  const parseKey = (): string => {
    ws();
    const c = text[p];
    if (c === '"' || c === "'") return parseString();
    if (c === '{') return objectKeyToString(parseObject());
    const m = /^[-A-Za-z0-9_$.]+/.exec(text.slice(p, p + 256));
    if (!m) return fail('bad object key');
    p += m[0].length;
    return m[0];
  };
  const parseObject = (): Record<string, unknown> => {
    p++;
    const out: Record<string, unknown> = {};
    ws();
    if (text[p] === '}') { p++; return out; }
    for (;;) {
      const key = parseKey();
      ws();
      if (text[p] !== ':') fail('expected :');
      p++;
      out[key] = parseValue();
      ws();
      if (text[p] === ',') { p++; continue; }
      if (text[p] === '}') { p++; return out; }
      return fail('expected , or }');
    }
  };
  const value = parseValue();
  ws();
  if (p !== text.length) fail('trailing characters');
  return value;
}

export function objectKeyToString(key: Record<string, unknown>): string {
  if ('topic' in key && 'brokerName' in key && 'queueId' in key) {
    return messageQueueKey(String(key.topic), String(key.brokerName), Number(key.queueId));
  }
  return JSON.stringify(key, Object.keys(key).sort());
}

/** The string form of a MessageQueue map key produced by parseFastjson. */
export function messageQueueKey(topic: string, brokerName: string, queueId: number): string {
  return `${topic}|${brokerName}|${queueId}`;
}
