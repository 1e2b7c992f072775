/**
 * CSV for exports that a spreadsheet may open (reliability-security.md §8.4). Every field is
 * quoted, embedded quotes doubled, and a cell a spreadsheet would run as a formula (starting with
 * =, +, -, @, TAB or CR) gets a leading apostrophe. Message bodies and properties are attacker data.
 * RFC 4180 line ends (CRLF); a reader must accept newlines inside quoted fields.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell, escaped and quoted. null/undefined become an empty quoted cell. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '""';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

export function csvRow(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/**
 * Parses CSV written by csvRow (quoted fields, doubled quotes, CRLF or LF, newlines inside quotes).
 * For tests and for reading an exported receipt file back; not a general CSV reader.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      cell += c;
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else if (c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
      i++;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Undoes the formula guard of csvCell for a value read back (a leading apostrophe before =+-@ TAB CR). */
export function unguardCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}
