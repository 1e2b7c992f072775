/**
 * SQL92 message selectors: lexer, parser (grammar, precedence, static checks, errors with
 * positions), evaluator (every construct, RocketMQ's NULL semantics and string conversions).
 */
import { describe, expect, it } from 'vitest';
import { tokenize } from '../../../../src-main/broker/filter/sql92-lexer.js';
import {
  Sql92ParseError, compileSql92, describeNode, parseSql92,
} from '../../../../src-main/broker/filter/sql92-parser.js';
import { evaluateSql92, matchesSql92 } from '../../../../src-main/broker/filter/sql92-evaluator.js';
import { buildConsumerFilter, isRefusal } from '../../../../src-main/broker/filter/consumer-filter.js';
import { ResponseCode } from '../../../../src-main/remoting/response-code.js';

const m = (sql: string, props: Record<string, string> = {}): boolean => matchesSql92(parseSql92(sql), props);
const value = (sql: string, props: Record<string, string> = {}): unknown => evaluateSql92(parseSql92(sql).root, props);
const parseError = (sql: string): Sql92ParseError => {
  try {
    parseSql92(sql);
  } catch (err) {
    expect(err).toBeInstanceOf(Sql92ParseError);
    return err as Sql92ParseError;
  }
  throw new Error(`expected ${JSON.stringify(sql)} not to parse`);
};

describe('SQL92 lexer', () => {
  it('reads keywords case-insensitively, keeps identifier case, and reads every literal kind', () => {
    const t = tokenize("a AnD Bb or not TRUE false Null is in between 'it''s' 42 42L 1.5 .5 5. 2E3 1.5e-2 <> <= >= = < > ( ) , + -");
    expect(t.map((x) => x.kind === 'keyword' ? x.keyword : x.kind === 'id' ? `id:${x.name}` : x.kind === 'punct' ? x.punct
      : x.kind === 'eof' ? 'eof' : `${x.kind}:${String(x.value)}`)).toEqual([
      'id:a', 'AND', 'id:Bb', 'OR', 'NOT', 'TRUE', 'FALSE', 'NULL', 'IS', 'IN', 'BETWEEN', "string:it's", 'long:42', 'long:42',
      'double:1.5', 'double:0.5', 'double:5', 'double:2000', 'double:0.015', '<>', '<=', '>=', '=', '<', '>', '(', ')', ',', '+', '-', 'eof',
    ]);
  });

  it('skips whitespace, line comments and block comments', () => {
    const t = tokenize('a -- a comment\n = /* another */ 1');
    expect(t.map((x) => x.kind)).toEqual(['id', 'punct', 'long', 'eof']);
  });

  it('identifiers may hold _ and $ and digits after the first character', () => {
    const t = tokenize('_a1 $b c_d$9');
    expect(t.filter((x) => x.kind === 'id').map((x) => (x as { name: string }).name)).toEqual(['_a1', '$b', 'c_d$9']);
  });

  it.each([
    ["a = 'open", 'unterminated string literal', 5],
    ['a != 1', "'!=' is not SQL92; use '<>'", 3],
    ['a == 1', "use '=' for equality", 3],
    ['a = "x"', 'single quotes', 5],
    ['a = 1 && b = 2', 'use AND / OR', 7],
    ['a = 007', 'leading zero', 5],
    ['a = 9223372036854775808', 'out of the long range', 5],
    ['a = 12abc', 'malformed number', 5],
    ['a = 1 # x', 'unexpected character "#"', 7],
    ['a /* open', 'unterminated comment', 3],
  ])('refuses %j: %s', (sql, reason, column) => {
    const err = parseError(sql);
    expect(err.message).toContain(reason);
    expect(err.message).toContain(`(at position ${column})`);
    expect(err.message).toContain(JSON.stringify(sql));
  });

  it('accepts the largest long', () => {
    const t = tokenize('9223372036854775807');
    expect(t[0]).toMatchObject({ kind: 'long', value: 9223372036854775807n });
  });
});

describe('SQL92 parser', () => {
  it('gives AND precedence over OR, and parentheses override it', () => {
    expect(describeNode(parseSql92('a = 1 OR b = 2 AND c = 3').root)).toBe('((a = 1) OR ((b = 2) AND (c = 3)))');
    expect(describeNode(parseSql92('(a = 1 OR b = 2) AND c = 3').root)).toBe('(((a = 1) OR (b = 2)) AND (c = 3))');
  });

  it('expands <>, BETWEEN, NOT BETWEEN and IS NOT NULL as RocketMQ does', () => {
    expect(describeNode(parseSql92('a <> 1').root)).toBe('NOT (a = 1)');
    expect(describeNode(parseSql92('a BETWEEN 1 AND 5').root)).toBe('((a >= 1) AND (a <= 5))');
    expect(describeNode(parseSql92('a NOT BETWEEN 1 AND 5').root)).toBe('((a < 1) OR (a > 5))');
    expect(describeNode(parseSql92('a IS NOT NULL').root)).toBe('NOT (a IS NULL)');
    expect(describeNode(parseSql92("a NOT IN ('x', 'y')").root)).toBe("(a NOT IN ('x', 'y'))");
  });

  it('folds signs into numeric literals', () => {
    expect(parseSql92('a > -5').root).toMatchObject({ type: 'compare', right: { type: 'literal', value: -5n } });
    expect(parseSql92('a > +2.5').root).toMatchObject({ type: 'compare', right: { type: 'literal', value: 2.5 } });
    expect(parseSql92('a > - -3').root).toMatchObject({ type: 'compare', right: { type: 'literal', value: 3n } });
  });

  it('lists the properties a selector reads', () => {
    expect([...parseSql92("TAGS IN ('A') AND (price > 5 OR region IS NULL)").properties].sort()).toEqual(['TAGS', 'price', 'region']);
  });

  it('accepts a lone property, TRUE and FALSE as selectors', () => {
    expect(parseSql92('flag').root.type).toBe('boolCast');
    expect(parseSql92('TRUE').root).toEqual({ type: 'literal', value: true });
    expect(parseSql92('NOT FALSE').root.type).toBe('not');
  });

  it.each([
    ['', 'the expression is empty'],
    ['   ', 'the expression is empty'],
    ['a >', 'unexpected end of the expression, expected a value'],
    ['a = 1 b = 2', "unexpected 'b' after a complete expression"],
    ['a = 1)', "unexpected ')' after a complete expression"],
    ['(a = 1', "expected ')' to close the parenthesis"],
    ['5', '5 is not a condition'],
    ["'x'", "'x' is not a condition"],
    ['a = 1 AND 5', '5 is not a condition'],
    ['a = NULL', 'use IS NULL'],
    ['NULL = a', 'use IS NULL'],
    ["a > 'x'", "'x' cannot be compared with >: only numbers can"],
    ['a < TRUE', 'TRUE cannot be compared with <'],
    ["a BETWEEN 'a' AND 'z'", "'a' cannot be compared with >="],
    ['a BETWEEN 5 AND 1', 'BETWEEN bounds are reversed'],
    ['a BETWEEN NULL AND 1', 'BETWEEN bounds cannot be NULL'],
    ['a BETWEEN 1 5', 'expected AND in BETWEEN'],
    ['a IN (1, 2)', "IN list takes quoted strings ('text'), found '1'"],
    ["a IN ('x'", "expected ')' to close the IN list"],
    ["a IN 'x'", "expected '(' after IN"],
    ["5 IN ('x')", 'IN needs a property on its left'],
    ['a IS 5', 'expected NULL after IS'],
    ['a IS NOT 5', 'expected NULL after IS NOT'],
    ['(a > 1) > 2', 'the condition (a > 1) cannot be compared with >'],
    ['NOT a = 1', 'NOT applies to the value right after it'],
    ['TRUE = 1', 'TRUE cannot be compared with 1'],
    ["- 'x' = a", "unary - applies to numbers, not 'x'"],
    ['a = AND', 'unexpected keyword AND'],
  ])('refuses %j (%s)', (sql, reason) => {
    expect(parseError(sql).message).toContain(reason);
  });

  it('caches parsed expressions and parse errors by text', () => {
    const a = compileSql92('cached_prop > 1');
    expect(compileSql92('cached_prop > 1')).toBe(a);
    let first: unknown;
    let second: unknown;
    try { compileSql92('cached_prop >'); } catch (e) { first = e; }
    try { compileSql92('cached_prop >'); } catch (e) { second = e; }
    expect(first).toBeInstanceOf(Sql92ParseError);
    expect(second).toBe(first);
  });
});

describe('SQL92 evaluation', () => {
  it('compares numbers (property strings converted to the literal type)', () => {
    const p = { a: '10' };
    expect(m('a = 10', p)).toBe(true);
    expect(m('a <> 10', p)).toBe(false);
    expect(m('a <> 11', p)).toBe(true);
    expect(m('a > 5', p)).toBe(true);
    expect(m('a > 10', p)).toBe(false);
    expect(m('a >= 10', p)).toBe(true);
    expect(m('a < 10', p)).toBe(false);
    expect(m('a <= 10', p)).toBe(true);
    expect(m('a < 10.5', p)).toBe(true);
    expect(m('a > -1', p)).toBe(true);
    expect(m('a = 10.0', p)).toBe(true);
    expect(m('5 < a', p)).toBe(true);
  });

  it('uses long arithmetic for longs beyond 2^53', () => {
    expect(m('id = 9007199254740993', { id: '9007199254740993' })).toBe(true);
    expect(m('id > 9007199254740992', { id: '9007199254740993' })).toBe(true);
  });

  it('compares strings with = and <> only, exactly', () => {
    expect(m("region = 'eu'", { region: 'eu' })).toBe(true);
    expect(m("region = 'EU'", { region: 'eu' })).toBe(false);
    expect(m("region <> 'us'", { region: 'eu' })).toBe(true);
    expect(m("'eu' = region", { region: 'eu' })).toBe(true);
    expect(m("a = 'it''s'", { a: "it's" })).toBe(true);
  });

  it('BETWEEN and NOT BETWEEN include their bounds', () => {
    for (const [a, inside] of [['2', false], ['3', true], ['5', true], ['7', true], ['8', false]] as const) {
      expect(m('a BETWEEN 3 AND 7', { a })).toBe(inside);
      expect(m('a NOT BETWEEN 3 AND 7', { a })).toBe(!inside);
    }
    expect(m('a BETWEEN -1.5 AND 1.5', { a: '0.25' })).toBe(true);
  });

  it('IN and NOT IN match strings exactly', () => {
    expect(m("TAGS IN ('A', 'B')", { TAGS: 'B' })).toBe(true);
    expect(m("TAGS IN ('A', 'B')", { TAGS: 'C' })).toBe(false);
    expect(m("TAGS NOT IN ('A', 'B')", { TAGS: 'C' })).toBe(true);
    expect(m("TAGS NOT IN ('A', 'B')", { TAGS: 'A' })).toBe(false);
    expect(m("n IN ('1', '2', '3', '4', '5', '6')", { n: '6' })).toBe(true);
  });

  it('IS NULL and IS NOT NULL test presence', () => {
    expect(m('a IS NULL', {})).toBe(true);
    expect(m('a IS NULL', { a: 'x' })).toBe(false);
    expect(m('a IS NOT NULL', { a: 'x' })).toBe(true);
    expect(m('a IS NOT NULL', {})).toBe(false);
  });

  it('a message without the property matches no comparison, negated or not', () => {
    for (const sql of ['a = 1', 'a <> 1', 'a > 1', 'a < 1', 'a >= 1', 'a <= 1', "a = 'x'", "a <> 'x'",
      'a BETWEEN 1 AND 2', 'a NOT BETWEEN 1 AND 2', "a IN ('x')", "a NOT IN ('x')", 'NOT (a = 1)', 'NOT (a > 1)',
      "a CONTAINS 'x'", "a NOT CONTAINS 'x'"]) {
      expect(m(sql, { b: '1' }), sql).toBe(false);
      expect(value(sql, { b: '1' }), sql).toBe(null);
    }
  });

  it('AND / OR / NOT use three-valued logic', () => {
    const p = { a: '1' }; // b is missing: b = 1 is NULL
    expect(value('a = 1 AND b = 1', p)).toBe(null);
    expect(value('a = 2 AND b = 1', p)).toBe(false);
    expect(value('b = 1 AND a = 2', p)).toBe(false);
    expect(value('a = 1 OR b = 1', p)).toBe(true);
    expect(value('b = 1 OR a = 1', p)).toBe(true);
    expect(value('a = 2 OR b = 1', p)).toBe(null);
    expect(value('NOT (b = 1)', p)).toBe(null);
    expect(value('NOT (a = 1)', p)).toBe(false);
    expect(m('a = 1 AND (b = 1 OR b IS NULL)', p)).toBe(true);
    expect(m('NOT (a = 2) AND NOT (a = 3)', p)).toBe(true);
  });

  it('TRUE and FALSE literals, and comparing properties with booleans', () => {
    expect(m('TRUE', {})).toBe(true);
    expect(m('FALSE', {})).toBe(false);
    expect(m('NOT FALSE', {})).toBe(true);
    expect(m('flag = TRUE', { flag: 'true' })).toBe(true);
    expect(m('flag = TRUE', { flag: 'TRUE' })).toBe(true);
    expect(m('flag = FALSE', { flag: 'no' })).toBe(true);
    expect(m('(a > 1) = TRUE', { a: '2' })).toBe(true);
    expect(m('(a > 1) = FALSE', { a: '2' })).toBe(false);
  });

  it('a property used as a condition is never TRUE (its value is a string), as in RocketMQ', () => {
    expect(value('flag', { flag: 'true' })).toBe(false);
    expect(value('flag', {})).toBe(null);
  });

  it('values that do not convert make the message not match (RocketMQ: Long.valueOf / Double.valueOf errors)', () => {
    expect(m('a > 5', { a: 'abc' })).toBe(false);
    expect(m('a = 5', { a: 'abc' })).toBe(false);
    expect(m('a > 5', { a: '5.5' })).toBe(false); // a long literal wants a long
    expect(m('a > 5.0', { a: '5.5' })).toBe(true);
    expect(m('a > 5 OR b = 1', { a: 'abc', b: '1' })).toBe(false); // the error fails the whole selector
    expect(m('a = 5', { a: ' 5' })).toBe(false);
    expect(m('a > 5.0', { a: ' 7.5 ' })).toBe(true); // Double.valueOf trims
  });

  it('two properties compare as doubles under <, > and as strings under =', () => {
    expect(m('a > b', { a: '10', b: '9' })).toBe(true); // not string order
    expect(m('a = b', { a: '10', b: '10' })).toBe(true);
    expect(m('a = b', { a: '10', b: '10.0' })).toBe(false);
    expect(m('a > b', { a: 'x', b: '9' })).toBe(false);
  });

  it('negating a property gives NULL', () => {
    expect(value('-a = 5', { a: '-5' })).toBe(null);
  });

  it('CONTAINS, STARTSWITH, ENDSWITH and their negations test strings', () => {
    const p = { s: 'order-created' };
    expect(m("s CONTAINS 'created'", p)).toBe(true);
    expect(m("s NOT CONTAINS 'created'", p)).toBe(false);
    expect(m("s STARTSWITH 'order'", p)).toBe(true);
    expect(m("s ENDSWITH 'order'", p)).toBe(false);
    expect(m("s NOT ENDSWITH 'order'", p)).toBe(true);
  });

  it('reads system properties such as TAGS and KEYS like any other', () => {
    const p = { TAGS: 'TagA', KEYS: 'k1', price: '12' };
    expect(m("TAGS = 'TagA' AND price > 10", p)).toBe(true);
    expect(m("TAGS = 'TagB' OR KEYS = 'k1'", p)).toBe(true);
  });

  it('property lookups ignore inherited object members', () => {
    expect(m('constructor IS NULL', {})).toBe(true);
    expect(m('toString IS NOT NULL', {})).toBe(false);
  });

  it('a realistic selector', () => {
    const sql = "(TAGS IN ('TagA', 'TagB')) AND (c1 BETWEEN 4 AND 7) AND (c2 = 'v6') AND region IS NOT NULL";
    expect(m(sql, { TAGS: 'TagA', c1: '5', c2: 'v6', region: 'eu' })).toBe(true);
    expect(m(sql, { TAGS: 'TagC', c1: '5', c2: 'v6', region: 'eu' })).toBe(false);
    expect(m(sql, { TAGS: 'TagA', c1: '8', c2: 'v6', region: 'eu' })).toBe(false);
    expect(m(sql, { TAGS: 'TagA', c1: '5', c2: 'v6' })).toBe(false);
  });
});

describe('consumer filter selection', () => {
  it('TAG (or no type) uses the tag filter', () => {
    const f = buildConsumerFilter(undefined, 'A || B', true);
    expect(isRefusal(f)).toBe(false);
    expect(f).toMatchObject({ kind: 'TAG', tag: { all: false, tags: ['A', 'B'] } });
    expect(buildConsumerFilter('TAG', '*', false)).toMatchObject({ kind: 'TAG', tag: { all: true } });
  });

  it('SQL92 needs enablePropertyFilter (SYSTEM_ERROR otherwise, as RocketMQ answers)', () => {
    expect(buildConsumerFilter('SQL92', 'a > 1', false)).toMatchObject({
      code: ResponseCode.SYSTEM_ERROR, remark: expect.stringContaining('does not support consumer to filter message by SQL92'),
    });
  });

  it('a bad SQL92 expression is SUBSCRIPTION_PARSE_FAILED with the parse error', () => {
    expect(buildConsumerFilter('SQL92', 'a >', true)).toMatchObject({
      code: ResponseCode.SUBSCRIPTION_PARSE_FAILED,
      remark: expect.stringContaining("parse the consumer's subscription failed: Invalid SQL92 expression \"a >\""),
    });
  });

  it('an unknown expression type is refused', () => {
    expect(buildConsumerFilter('XPATH', '/a', true)).toMatchObject({ code: ResponseCode.SUBSCRIPTION_PARSE_FAILED });
  });
});
