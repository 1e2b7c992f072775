/**
 * Evaluates a parsed SQL92 selector against a message's properties, with the semantics of
 * RocketMQ's filter expressions (ComparisonExpression, LogicExpression, UnaryExpression, with
 * string conversion on, as SelectorParser sets it):
 *
 * - Identifiers read message properties (user properties and system ones such as TAGS, KEYS); a
 *   property the message does not have is NULL.
 * - Three-valued logic: any comparison with NULL is NULL ("unknown"); NOT NULL is NULL; AND is
 *   FALSE if either side is FALSE, OR is TRUE if either side is TRUE, otherwise NULL propagates.
 *   A message matches only when the whole selector is TRUE, so a message without the property
 *   never matches `a = 1`, `a <> 1`, `a NOT IN ('x')` or `a NOT BETWEEN 1 AND 2`; only IS NULL /
 *   IS NOT NULL test for absence.
 * - Property values are strings. Compared with a number they are converted as Java does: to a long
 *   when the literal is a long (`Long.valueOf`, so "5.5" against `a > 3` is an error), to a double
 *   when it is a double; two strings under <, >, <=, >= are compared as doubles; compared with
 *   TRUE/FALSE a string is true iff it is "true" (any case). A conversion error makes the whole
 *   selector fail for that message (RocketMQ logs it and does not deliver the message).
 * - IN compares strings exactly; CONTAINS / STARTSWITH / ENDSWITH test string values.
 */
import type { Sql92Expression, Sql92Node, Sql92Value } from './sql92-parser.js';

/** A value that cannot be converted for a comparison; the message does not match. */
export class Sql92EvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Sql92EvalError';
  }
}

export type Sql92Properties = Readonly<Record<string, string | undefined>>;

/** True when the selector evaluates to TRUE for these properties; NULL, FALSE and errors are false. */
export function matchesSql92(expr: Sql92Expression, properties: Sql92Properties): boolean {
  try {
    return evaluateSql92(expr.root, properties) === true;
  } catch (err) {
    if (err instanceof Sql92EvalError) return false;
    throw err;
  }
}

/** The selector's value: TRUE, FALSE or NULL for conditions. Throws Sql92EvalError on conversion errors. */
export function evaluateSql92(node: Sql92Node, properties: Sql92Properties): Sql92Value {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'property': {
      const v = Object.prototype.hasOwnProperty.call(properties, node.name) ? properties[node.name] : undefined;
      return v === undefined ? null : v;
    }
    case 'negate': {
      const v = evaluateSql92(node.operand, properties);
      if (typeof v === 'bigint' || typeof v === 'number') return -v;
      return null;
    }
    case 'not': {
      const v = asLogic(evaluateSql92(node.operand, properties));
      return v === null ? null : !v;
    }
    case 'boolCast': {
      const v = evaluateSql92(node.operand, properties);
      if (v === null) return null;
      return typeof v === 'boolean' ? v : false;
    }
    case 'and': {
      const l = asLogic(evaluateSql92(node.left, properties));
      if (l === false) return false;
      const r = asLogic(evaluateSql92(node.right, properties));
      if (r === false) return false;
      return l === null || r === null ? null : true;
    }
    case 'or': {
      const l = asLogic(evaluateSql92(node.left, properties));
      if (l === true) return true;
      const r = asLogic(evaluateSql92(node.right, properties));
      if (r === true) return true;
      return l === null || r === null ? null : false;
    }
    case 'isNull':
      return evaluateSql92(node.operand, properties) === null;
    case 'in': {
      const v = evaluateSql92({ type: 'property', name: node.name }, properties);
      if (typeof v !== 'string') return null;
      return node.values.has(v) !== node.negated;
    }
    case 'text': {
      const v = evaluateSql92(node.operand, properties);
      if (v === null) return null;
      if (typeof v !== 'string') return false;
      const hit = node.op === 'CONTAINS' ? v.includes(node.literal)
        : node.op === 'STARTSWITH' ? v.startsWith(node.literal) : v.endsWith(node.literal);
      return hit !== node.negated;
    }
    case 'compare':
      return compareNode(node.op, evaluateSql92(node.left, properties), evaluateSql92(node.right, properties));
    default: {
      const never: never = node;
      throw new Error(`unknown SQL92 node ${JSON.stringify(never)}`);
    }
  }
}

function asLogic(v: Sql92Value): boolean | null {
  if (v === null || typeof v === 'boolean') return v;
  return false;
}

function compareNode(op: '=' | '>' | '>=' | '<' | '<=', lv: Sql92Value, rv: Sql92Value): boolean | null {
  if (lv === null || rv === null) return null;
  let c: number;
  if (op !== '=' && typeof lv === 'string' && typeof rv === 'string') {
    // Ordering two strings is only allowed when both read as numbers.
    c = compareDoubles(toDouble(lv), toDouble(rv));
  } else {
    if (op === '=' && typeof lv === typeof rv && lv === rv) return true;
    c = compareValues(lv, rv);
  }
  switch (op) {
    case '=': return c === 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
    case '<': return c < 0;
    case '<=': return c <= 0;
  }
}

type NonNull = Exclude<Sql92Value, null>;

/** ComparisonExpression.__compare with string conversion on; -1 for types that cannot be compared. */
function compareValues(lv: NonNull, rv: NonNull): number {
  if (typeof lv === 'string') {
    if (typeof rv === 'string') return lv < rv ? -1 : lv > rv ? 1 : 0;
    if (typeof rv === 'boolean') return compareBooleans(toBoolean(lv), rv);
    if (typeof rv === 'bigint') return compareLongs(toLong(lv), rv);
    return compareDoubles(toDouble(lv), rv);
  }
  if (typeof lv === 'boolean') {
    if (typeof rv === 'boolean') return compareBooleans(lv, rv);
    if (typeof rv === 'string') return compareBooleans(lv, toBoolean(rv));
    return -1;
  }
  if (typeof lv === 'bigint') {
    if (typeof rv === 'bigint') return compareLongs(lv, rv);
    if (typeof rv === 'number') return compareDoubles(Number(lv), rv);
    if (typeof rv === 'string') return compareLongs(lv, toLong(rv));
    return -1;
  }
  if (typeof rv === 'number') return compareDoubles(lv, rv);
  if (typeof rv === 'bigint') return compareDoubles(lv, Number(rv));
  if (typeof rv === 'string') return compareDoubles(lv, toDouble(rv));
  return -1;
}

const compareBooleans = (a: boolean, b: boolean): number => (a === b ? 0 : a ? 1 : -1);
const compareLongs = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** Double.compareTo: NaN equals itself and is above everything. */
function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an && bn ? 0 : an ? 1 : -1;
  return 0;
}

const LONG_MIN = -9223372036854775808n;
const LONG_MAX = 9223372036854775807n;
const LONG_TEXT = /^[+-]?\d+$/;
const DOUBLE_TEXT = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/;

/** Long.valueOf. */
function toLong(s: string): bigint {
  if (!LONG_TEXT.test(s)) throw new Sql92EvalError(`"${s}" is not a long`);
  const v = BigInt(s);
  if (v < LONG_MIN || v > LONG_MAX) throw new Sql92EvalError(`"${s}" is out of the long range`);
  return v;
}

/** Double.valueOf (surrounding whitespace allowed, as in Java). */
function toDouble(s: string): number {
  const t = s.trim();
  if (!DOUBLE_TEXT.test(t)) throw new Sql92EvalError(`"${s}" is not a number`);
  return Number(t.replace(/[fFdD]$/, ''));
}

/** Boolean.valueOf. */
const toBoolean = (s: string): boolean => s.toLowerCase() === 'true';
