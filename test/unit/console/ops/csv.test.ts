/** CSV export escaping (reliability-security.md §8.4): formula cells guarded, quotes doubled, round trip. */
import { describe, expect, it } from 'vitest';
import { csvCell, csvRow, parseCsv, unguardCell } from '../../../../src-main/console/ops/csv.js';

describe('csvCell', () => {
  it('quotes every field and doubles embedded quotes', () => {
    expect(csvCell('plain')).toBe('"plain"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('a,b\r\nc')).toBe('"a,b\r\nc"');
    expect(csvCell(42)).toBe('"42"');
    expect(csvCell(null)).toBe('""');
    expect(csvCell(undefined)).toBe('""');
  });

  it('prefixes cells a spreadsheet would run as a formula: = + - @ TAB CR', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) {
      expect(csvCell(`${start}HYPERLINK("http://x")`)).toBe(`"'${start}HYPERLINK(""http://x"")"`);
    }
    expect(csvCell('=1+1')).toBe(`"'=1+1"`);
    expect(csvCell('-5')).toBe(`"'-5"`);
    expect(csvCell('a=1')).toBe('"a=1"');
    expect(csvCell(' =1')).toBe('" =1"');
  });

  it('a number that is negative is guarded too (it is text in the file)', () => {
    expect(csvCell(-1)).toBe(`"'-1"`);
  });
});

describe('csvRow / parseCsv', () => {
  it('round-trips rows with commas, quotes, CRLF and formulas inside cells', () => {
    const rows = [
      ['id', 'body', 'props'],
      ['1', 'hello, "world"\r\nsecond line', '{"a":"b"}'],
      ['2', '=cmd|\'/c calc\'!A1', '@SUM(A1)'],
      ['3', '', '\ttab'],
    ];
    const text = rows.map(csvRow).join('');
    expect(text.endsWith('\r\n')).toBe(true);
    const back = parseCsv(text).map((r) => r.map(unguardCell));
    expect(back).toEqual(rows);
    // and no cell of the file starts with a formula character
    for (const r of parseCsv(text)) for (const c of r) expect(/^[=+\-@\t\r]/.test(c)).toBe(false);
  });

  it('parses LF-only files and a last line without a terminator', () => {
    expect(parseCsv('"a","b"\n"c","d"')).toEqual([['a', 'b'], ['c', 'd']]);
  });
});
