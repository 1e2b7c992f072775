/**
 * Tokens of RocketMQ's SQL92 message selector (filter/.../parser/SelectorParser.jj): keywords are
 * case-insensitive, identifiers are `[a-zA-Z_$][a-zA-Z0-9_$]*` (case kept: they name properties),
 * strings are single-quoted with '' for a quote, numbers are longs (optional L suffix) or doubles
 * (`5.5`, `5.`, `.5`, `5E10`), and `-- line` and block comments are skipped. Positions are 0-based
 * offsets into the text; errors report them 1-based.
 */

export const SQL92_KEYWORDS = [
  'NOT', 'AND', 'OR', 'BETWEEN', 'IN', 'TRUE', 'FALSE', 'NULL', 'IS', 'CONTAINS', 'STARTSWITH', 'ENDSWITH',
] as const;
export type Sql92Keyword = (typeof SQL92_KEYWORDS)[number];

export type Sql92Punct = '=' | '<>' | '<' | '<=' | '>' | '>=' | '(' | ')' | ',' | '+' | '-';

export type Sql92Token =
  | { kind: 'keyword'; keyword: Sql92Keyword; pos: number; text: string }
  | { kind: 'id'; name: string; pos: number; text: string }
  | { kind: 'string'; value: string; pos: number; text: string }
  | { kind: 'long'; value: bigint; pos: number; text: string }
  | { kind: 'double'; value: number; pos: number; text: string }
  | { kind: 'punct'; punct: Sql92Punct; pos: number; text: string }
  | { kind: 'eof'; pos: number; text: string };

/** A selector that cannot be parsed; `message` is meant for the consumer's developer. */
export class Sql92ParseError extends Error {
  constructor(readonly reason: string, readonly expression: string, readonly position: number) {
    super(`Invalid SQL92 expression ${JSON.stringify(expression)}: ${reason} (at position ${position + 1})`);
    this.name = 'Sql92ParseError';
  }
}

const LONG_MAX = 9223372036854775807n;
const KEYWORDS = new Set<string>(SQL92_KEYWORDS);

const isIdStart = (c: string): boolean => /[A-Za-z_$]/.test(c);
const isIdPart = (c: string): boolean => /[A-Za-z0-9_$]/.test(c);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

export function tokenize(text: string): Sql92Token[] {
  const out: Sql92Token[] = [];
  const n = text.length;
  let i = 0;
  const fail = (reason: string, at: number): never => {
    throw new Sql92ParseError(reason, text, at);
  };
  while (i < n) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment', i);
      i = end + 2;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= n) fail('unterminated string literal', start);
        const ch = text[i] as string;
        if (ch === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
      out.push({ kind: 'string', value, pos: start, text: text.slice(start, i) });
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1]))) {
      out.push(readNumber(text, start, fail));
      i = start + (out[out.length - 1] as Sql92Token).text.length;
      continue;
    }
    if (isIdStart(c)) {
      while (i < n && isIdPart(text[i] as string)) i++;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      if (KEYWORDS.has(upper)) out.push({ kind: 'keyword', keyword: upper as Sql92Keyword, pos: start, text: word });
      else out.push({ kind: 'id', name: word, pos: start, text: word });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '<>' || two === '<=' || two === '>=') {
      out.push({ kind: 'punct', punct: two, pos: start, text: two });
      i += 2;
      continue;
    }
    if (two === '!=') fail("'!=' is not SQL92; use '<>' for not-equal", start);
    if (two === '==') fail("'==' is not SQL92; use '=' for equality", start);
    if ('=<>(),+-'.includes(c)) {
      out.push({ kind: 'punct', punct: c as Sql92Punct, pos: start, text: c });
      i++;
      continue;
    }
    if (c === '"') fail('strings are quoted with single quotes (\'text\'), not double quotes', start);
    if (c === '&' || c === '|') fail(`'${c}' is not SQL92; use AND / OR`, start);
    fail(`unexpected character ${JSON.stringify(c)}`, start);
  }
  out.push({ kind: 'eof', pos: n, text: '' });
  return out;
}

function readNumber(text: string, start: number, fail: (reason: string, at: number) => never): Sql92Token {
  const n = text.length;
  let i = start;
  while (isDigit(text[i])) i++;
  const intEnd = i;
  let isFloat = false;
  if (text[i] === '.') {
    isFloat = true;
    i++;
    while (isDigit(text[i])) i++;
  }
  if ((text[i] === 'e' || text[i] === 'E')) {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (isDigit(text[j])) {
      isFloat = true;
      while (isDigit(text[j])) j++;
      i = j;
    }
  }
  if (isFloat) {
    const image = text.slice(start, i);
    if (i < n && isIdPart(text[i] as string)) fail(`malformed number ${JSON.stringify(text.slice(start, i + 1))}`, start);
    const value = Number(image.endsWith('.') ? image.slice(0, -1) : image);
    if (!Number.isFinite(value)) fail(`number ${image} is out of the double range`, start);
    return { kind: 'double', value, pos: start, text: image };
  }
  const digits = text.slice(start, intEnd);
  if (text[i] === 'l' || text[i] === 'L') i++;
  if (i < n && isIdPart(text[i] as string)) fail(`malformed number ${JSON.stringify(text.slice(start, i + 1))}`, start);
  if (digits.length > 1 && digits.startsWith('0')) fail(`number ${digits} has a leading zero (octal and hex literals are not supported)`, start);
  const value = BigInt(digits);
  if (value > LONG_MAX) fail(`number ${digits} is out of the long range`, start);
  return { kind: 'long', value, pos: start, text: text.slice(start, i) };
}
