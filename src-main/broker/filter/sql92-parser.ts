/**
 * SQL92 message selector parser, the grammar of RocketMQ's SelectorParser.jj (itself ActiveMQ's
 * JMS selector minus LIKE, arithmetic, hex and octal):
 *
 *   selector    := or EOF                         (must yield a boolean)
 *   or          := and ( OR and )*
 *   and         := equality ( AND equality )*
 *   equality    := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
 *   comparison  := unary ( ('>' | '>=' | '<' | '<=') unary
 *                        | [NOT] BETWEEN unary AND unary
 *                        | [NOT] IN '(' string (',' string)* ')'
 *                        | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string )*
 *   unary       := '+' unary | '-' unary | NOT unary | primary
 *   primary     := literal | identifier | '(' or ')'
 *   literal     := 'string' | long | double | TRUE | FALSE | NULL
 *
 * Note the JMS precedence RocketMQ inherits: NOT binds tighter than comparisons, so `NOT a = 1` is
 * `(NOT a) = 1`; write `NOT (a = 1)`. The static checks RocketMQ makes when building expressions are
 * made here too, so a bad selector fails at subscription time: `<`, `>`, `<=`, `>=` and BETWEEN take
 * only numbers, `= NULL` is refused (use IS NULL), BETWEEN bounds must be ordered, IN needs a
 * property on its left. Two deliberate differences: trailing text after a complete expression is
 * an error (RocketMQ's generated parser silently ignores it), and `0.0` is a valid double.
 */
import { Sql92ParseError, tokenize, type Sql92Keyword, type Sql92Punct, type Sql92Token } from './sql92-lexer.js';

export { Sql92ParseError } from './sql92-lexer.js';

export type Sql92Value = string | bigint | number | boolean | null;

export type Sql92Node =
  | { type: 'literal'; value: Sql92Value }
  | { type: 'property'; name: string }
  | { type: 'negate'; operand: Sql92Node }
  | { type: 'not'; operand: Sql92Node }
  /** A property used where a boolean is expected (true only if its value is a boolean, i.e. never for properties). */
  | { type: 'boolCast'; operand: Sql92Node }
  | { type: 'and' | 'or'; left: Sql92Node; right: Sql92Node }
  | { type: 'compare'; op: '=' | '>' | '>=' | '<' | '<='; left: Sql92Node; right: Sql92Node }
  | { type: 'isNull'; operand: Sql92Node }
  | { type: 'in'; name: string; values: ReadonlySet<string>; negated: boolean }
  | { type: 'text'; op: 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH'; operand: Sql92Node; literal: string; negated: boolean };

export interface Sql92Expression {
  /** The selector as given. */
  readonly text: string;
  readonly root: Sql92Node;
  /** Property names the selector reads. */
  readonly properties: ReadonlySet<string>;
}

const BOOLEAN_TYPES = new Set(['not', 'boolCast', 'and', 'or', 'compare', 'isNull', 'in', 'text']);

/** ActiveMQ's BooleanExpression: comparisons, logic, TRUE/FALSE/NULL literals. */
function isBoolean(node: Sql92Node): boolean {
  if (node.type === 'literal') return node.value === null || typeof node.value === 'boolean';
  return BOOLEAN_TYPES.has(node.type);
}

/** Renders a node back as selector text, for error messages. */
export function describeNode(node: Sql92Node): string {
  switch (node.type) {
    case 'literal':
      if (node.value === null) return 'NULL';
      if (typeof node.value === 'boolean') return node.value ? 'TRUE' : 'FALSE';
      if (typeof node.value === 'string') return `'${node.value.replace(/'/g, "''")}'`;
      return String(node.value);
    case 'property': return node.name;
    case 'negate': return `-${describeNode(node.operand)}`;
    case 'not': return `NOT ${describeNode(node.operand)}`;
    case 'boolCast': return describeNode(node.operand);
    case 'and': case 'or': return `(${describeNode(node.left)} ${node.type.toUpperCase()} ${describeNode(node.right)})`;
    case 'compare': return `(${describeNode(node.left)} ${node.op} ${describeNode(node.right)})`;
    case 'isNull': return `(${describeNode(node.operand)} IS NULL)`;
    case 'in': return `(${node.name} ${node.negated ? 'NOT IN' : 'IN'} (${[...node.values].map((v) => `'${v}'`).join(', ')}))`;
    case 'text': return `(${describeNode(node.operand)} ${node.negated ? 'NOT ' : ''}${node.op} '${node.literal}')`;
    default: {
      const never: never = node;
      return String(never);
    }
  }
}

/** NOT binds tighter than comparisons (JMS), a common surprise worth naming in errors. */
function notHint(node: Sql92Node): string {
  return node.type === 'not' ? ' (NOT applies to the value right after it; write NOT (…) to negate a comparison)' : '';
}

class Parser {
  private readonly tokens: Sql92Token[];
  private i = 0;
  readonly properties = new Set<string>();

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parse(): Sql92Node {
    if (this.peek().kind === 'eof') this.fail('the expression is empty', this.peek());
    const node = this.asBoolean(this.or(), this.tokens[0] as Sql92Token);
    const rest = this.peek();
    if (rest.kind !== 'eof') this.fail(`unexpected ${this.show(rest)} after a complete expression`, rest);
    return node;
  }

  // --- grammar -------------------------------------------------------------------------------

  private or(): Sql92Node {
    const start = this.peek();
    let left = this.and();
    while (this.acceptKeyword('OR')) {
      const at = this.peek();
      const right = this.and();
      left = { type: 'or', left: this.asBoolean(left, start), right: this.asBoolean(right, at) };
    }
    return left;
  }

  private and(): Sql92Node {
    const start = this.peek();
    let left = this.equality();
    while (this.acceptKeyword('AND')) {
      const at = this.peek();
      const right = this.equality();
      left = { type: 'and', left: this.asBoolean(left, start), right: this.asBoolean(right, at) };
    }
    return left;
  }

  private equality(): Sql92Node {
    let left = this.comparison();
    for (;;) {
      const t = this.peek();
      if (this.acceptPunct('=')) {
        left = this.equal(left, this.comparison(), t);
      } else if (this.acceptPunct('<>')) {
        left = { type: 'not', operand: this.equal(left, this.comparison(), t) };
      } else if (this.isKeyword(t, 'IS')) {
        this.i++;
        const negated = this.acceptKeyword('NOT');
        if (!this.acceptKeyword('NULL')) this.fail(`expected NULL after IS${negated ? ' NOT' : ''}, found ${this.show(this.peek())}`, this.peek());
        const isNull: Sql92Node = { type: 'isNull', operand: left };
        left = negated ? { type: 'not', operand: isNull } : isNull;
      } else {
        return left;
      }
    }
  }

  private comparison(): Sql92Node {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'punct' && (t.punct === '>' || t.punct === '>=' || t.punct === '<' || t.punct === '<=')) {
        this.i++;
        const rightAt = this.peek();
        const right = this.unary();
        left = this.ordered(t.punct, left, right, t, rightAt);
        continue;
      }
      let negated = false;
      if (this.isKeyword(t, 'NOT')) {
        const next = this.tokens[this.i + 1] as Sql92Token;
        if (!(next.kind === 'keyword' && ['BETWEEN', 'IN', 'CONTAINS', 'STARTSWITH', 'ENDSWITH'].includes(next.keyword))) return left;
        this.i++;
        negated = true;
      }
      const op = this.peek();
      if (this.acceptKeyword('BETWEEN')) {
        const lowAt = this.peek();
        const low = this.unary();
        if (!this.acceptKeyword('AND')) this.fail(`expected AND in BETWEEN, found ${this.show(this.peek())}`, this.peek());
        const highAt = this.peek();
        const high = this.unary();
        left = this.between(left, low, high, negated, op, lowAt, highAt);
      } else if (this.acceptKeyword('IN')) {
        if (left.type !== 'property') this.fail(`IN needs a property on its left, got ${describeNode(left)}`, op);
        this.expectPunct('(', 'after IN');
        const values = [this.stringLiteral('IN list')];
        while (this.acceptPunct(',')) values.push(this.stringLiteral('IN list'));
        this.expectPunct(')', 'to close the IN list');
        left = { type: 'in', name: (left as { name: string }).name, values: new Set(values), negated };
      } else if (op.kind === 'keyword' && (op.keyword === 'CONTAINS' || op.keyword === 'STARTSWITH' || op.keyword === 'ENDSWITH')) {
        this.i++;
        const literal = this.stringLiteral(op.keyword);
        left = { type: 'text', op: op.keyword, operand: left, literal, negated };
      } else {
        return left;
      }
    }
  }

  private unary(): Sql92Node {
    const t = this.peek();
    if (this.acceptPunct('+')) {
      const operand = this.unary();
      if (operand.type === 'literal' && typeof operand.value !== 'bigint' && typeof operand.value !== 'number') {
        this.fail(`unary + applies to numbers, not ${describeNode(operand)}`, t);
      }
      return operand;
    }
    if (this.acceptPunct('-')) {
      const operand = this.unary();
      if (operand.type === 'literal') {
        if (typeof operand.value === 'bigint' || typeof operand.value === 'number') return { type: 'literal', value: -operand.value };
        this.fail(`unary - applies to numbers, not ${describeNode(operand)}`, t);
      }
      return { type: 'negate', operand };
    }
    if (this.acceptKeyword('NOT')) {
      const at = this.peek();
      return { type: 'not', operand: this.asBoolean(this.unary(), at) };
    }
    return this.primary();
  }

  private primary(): Sql92Node {
    const t = this.peek();
    switch (t.kind) {
      case 'string': this.i++; return { type: 'literal', value: t.value };
      case 'long': this.i++; return { type: 'literal', value: t.value };
      case 'double': this.i++; return { type: 'literal', value: t.value };
      case 'id':
        this.i++;
        this.properties.add(t.name);
        return { type: 'property', name: t.name };
      case 'keyword':
        if (t.keyword === 'TRUE' || t.keyword === 'FALSE') {
          this.i++;
          return { type: 'literal', value: t.keyword === 'TRUE' };
        }
        if (t.keyword === 'NULL') {
          this.i++;
          return { type: 'literal', value: null };
        }
        return this.fail(`unexpected keyword ${t.keyword}, expected a value`, t);
      case 'punct':
        if (t.punct === '(') {
          this.i++;
          const inner = this.or();
          this.expectPunct(')', 'to close the parenthesis');
          return inner;
        }
        return this.fail(`unexpected ${this.show(t)}, expected a value`, t);
      case 'eof':
        return this.fail('unexpected end of the expression, expected a value', t);
      default: {
        const never: never = t;
        return this.fail(`unexpected token ${String(never)}`, t);
      }
    }
  }

  // --- static checks (ComparisonExpression.create*) -------------------------------------------

  private equal(left: Sql92Node, right: Sql92Node, at: Sql92Token): Sql92Node {
    for (const side of [left, right]) {
      if (side.type === 'literal' && side.value === null) this.fail("NULL cannot be compared with = or <>; use IS NULL / IS NOT NULL", at);
    }
    if (left.type === 'literal' && right.type === 'literal' && isBoolean(left) && !isBoolean(right)) {
      this.fail(`${describeNode(left)} cannot be compared with ${describeNode(right)}`, at);
    }
    // A condition compared with a number or string never matches in RocketMQ; refuse it up front.
    for (const [cond, other] of [[left, right], [right, left]] as const) {
      if (cond.type !== 'literal' && isBoolean(cond) && other.type === 'literal' && !isBoolean(other)) {
        this.fail(`the condition ${describeNode(cond)} cannot be compared with ${describeNode(other)}${notHint(cond)}`, at);
      }
    }
    return { type: 'compare', op: '=', left, right };
  }

  private ordered(op: '>' | '>=' | '<' | '<=', left: Sql92Node, right: Sql92Node, at: Sql92Token, rightAt: Sql92Token): Sql92Node {
    this.checkOrderedOperand(left, op, at);
    this.checkOrderedOperand(right, op, rightAt);
    return { type: 'compare', op, left, right };
  }

  /** Only numbers (and properties holding numbers) can be used with <, >, <=, >= (checkLessThanOperand). */
  private checkOrderedOperand(node: Sql92Node, op: string, at: Sql92Token): void {
    if (node.type === 'literal') {
      if (typeof node.value === 'bigint' || typeof node.value === 'number') return;
      this.fail(`${describeNode(node)} cannot be compared with ${op}: only numbers can`, at);
    }
    if (isBoolean(node)) this.fail(`the condition ${describeNode(node)} cannot be compared with ${op}${notHint(node)}`, at);
  }

  private between(value: Sql92Node, low: Sql92Node, high: Sql92Node, negated: boolean, at: Sql92Token,
    lowAt: Sql92Token, highAt: Sql92Token): Sql92Node {
    if (low.type === 'literal' && high.type === 'literal') {
      if (low.value === null || high.value === null) this.fail('BETWEEN bounds cannot be NULL', at);
      const l = low.value;
      const h = high.value;
      if ((typeof l === 'bigint' || typeof l === 'number') && (typeof h === 'bigint' || typeof h === 'number') && Number(h) < Number(l)) {
        this.fail(`BETWEEN bounds are reversed: ${describeNode(low)} is greater than ${describeNode(high)}`, at);
      }
    }
    if (negated) {
      return { type: 'or', left: this.ordered('<', value, low, at, lowAt), right: this.ordered('>', value, high, at, highAt) };
    }
    return { type: 'and', left: this.ordered('>=', value, low, at, lowAt), right: this.ordered('<=', value, high, at, highAt) };
  }

  private asBoolean(node: Sql92Node, at: Sql92Token): Sql92Node {
    if (isBoolean(node)) return node;
    if (node.type === 'property') return { type: 'boolCast', operand: node };
    return this.fail(`${describeNode(node)} is not a condition (it does not result in a boolean)`, at);
  }

  // --- token helpers -------------------------------------------------------------------------

  private peek(): Sql92Token {
    return this.tokens[this.i] as Sql92Token;
  }

  private isKeyword(t: Sql92Token, k: Sql92Keyword): boolean {
    return t.kind === 'keyword' && t.keyword === k;
  }

  private acceptKeyword(k: Sql92Keyword): boolean {
    if (!this.isKeyword(this.peek(), k)) return false;
    this.i++;
    return true;
  }

  private acceptPunct(p: Sql92Punct): boolean {
    const t = this.peek();
    if (t.kind !== 'punct' || t.punct !== p) return false;
    this.i++;
    return true;
  }

  private expectPunct(p: Sql92Punct, why: string): void {
    if (!this.acceptPunct(p)) this.fail(`expected '${p}' ${why}, found ${this.show(this.peek())}`, this.peek());
  }

  private stringLiteral(where: string): string {
    const t = this.peek();
    if (t.kind !== 'string') return this.fail(`${where} takes quoted strings ('text'), found ${this.show(t)}`, t);
    this.i++;
    return t.value;
  }

  private show(t: Sql92Token): string {
    return t.kind === 'eof' ? 'the end of the expression' : `'${t.text}'`;
  }

  private fail(reason: string, at: Sql92Token): never {
    throw new Sql92ParseError(reason, this.text, at.pos);
  }
}

/** Parses a selector; throws Sql92ParseError with a message naming the problem and its position. */
export function parseSql92(text: string): Sql92Expression {
  const parser = new Parser(text);
  const root = parser.parse();
  return { text, root, properties: parser.properties };
}

const CACHE_LIMIT = 1000;
const cache = new Map<string, Sql92Expression | Sql92ParseError>();

/**
 * parseSql92 with a cache by text (RocketMQ SelectorParser keeps one too): every pull of a SQL92
 * subscription names its expression, so each distinct text is parsed once. Failures are cached too.
 */
export function compileSql92(text: string): Sql92Expression {
  let entry = cache.get(text);
  if (entry === undefined) {
    try {
      entry = parseSql92(text);
    } catch (err) {
      if (!(err instanceof Sql92ParseError)) throw err;
      entry = err;
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  } else {
    cache.delete(text); // refresh its place: least recently used goes first
  }
  cache.set(text, entry);
  if (entry instanceof Sql92ParseError) throw entry;
  return entry;
}
