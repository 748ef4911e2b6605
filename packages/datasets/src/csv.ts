import { CsvFieldCountError, CsvSyntaxError, quoteValue } from './errors.js';

/** One CSV record and the 1-based line of the file on which it starts. */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

/**
 * Parses CSV text by RFC 4180: fields separated by `,`; a field wrapped in `"` may hold commas,
 * line breaks and `""` (one literal quote). Records end at CRLF, LF or a lone CR; a final line
 * break is optional and makes no empty record. A leading UTF-8 byte-order mark is dropped.
 *
 * Stricter than Python's `csv` on malformed text, by design: a `"` inside an unquoted field,
 * text after a closing quote, and an unterminated quoted field all throw {@link CsvSyntaxError}
 * with the file and line. An empty line is a record with one empty field (as RFC 4180 reads it),
 * so a table check then reports it instead of skipping it.
 *
 * @param file the name used in error messages.
 * @example
 * parseCsv('a,b\n"x, ""y""",z\n', 'demo.csv');
 * // [{ fields: ['a', 'b'], line: 1 }, { fields: ['x, "y"', 'z'], line: 2 }]
 */
export function parseCsv(text: string, file = '<csv>'): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  let lineStart = i;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    for (;;) {
      // At the start of a field.
      if (text.charCodeAt(i) === 0x22 /* " */) {
        const quoteLine = line;
        const quoteCol = i - lineStart + 1;
        i++;
        let value = '';
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            throw new CsvSyntaxError(
              { file, line: quoteLine, column: quoteCol },
              'quoted field is never closed (missing closing ")',
            );
          }
          const chunk = text.slice(i, q);
          value += chunk;
          // Keep the line counter right across line breaks inside the quotes.
          for (let k = 0; k < chunk.length; k++) {
            const c = chunk.charCodeAt(k);
            if (c === 0x0a || (c === 0x0d && chunk.charCodeAt(k + 1) !== 0x0a)) {
              line++;
              lineStart = i + k + 1;
            }
          }
          if (text.charCodeAt(q + 1) === 0x22) {
            value += '"';
            i = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        fields.push(value);
        const c = text.charCodeAt(i);
        if (i < n && c !== 0x2c && c !== 0x0a && c !== 0x0d) {
          throw new CsvSyntaxError(
            { file, line, column: i - lineStart + 1 },
            `unexpected ${JSON.stringify(text[i])} after a closing quote; expected a comma or the end of the line`,
          );
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 0x2c || c === 0x0a || c === 0x0d) break;
          if (c === 0x22) {
            throw new CsvSyntaxError(
              { file, line, column: j - lineStart + 1 },
              'a " inside an unquoted field; quote the field and double the quote ("")',
            );
          }
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
      }
      // After a field: a comma starts the next one, a line break or the end closes the record.
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === 0x2c) {
        i++;
        continue;
      }
      i += c === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
      line++;
      lineStart = i;
      break;
    }
    records.push({ fields, line: recordLine });
  }
  return records;
}

/** A parsed CSV table: the header's field names and the data records. */
export interface CsvTable {
  readonly header: string[];
  readonly rows: CsvRecord[];
}

/**
 * Parses CSV text with a header line and checks that every record has as many fields as the
 * header ({@link CsvFieldCountError} with file and line otherwise).
 */
export function parseCsvTable(text: string, file = '<csv>'): CsvTable {
  const records = parseCsv(text, file);
  const head = records[0];
  if (head === undefined)
    throw new CsvSyntaxError({ file, line: 1 }, 'the file is empty; expected a header line');
  const seen = new Set<string>();
  for (const name of head.fields) {
    if (seen.has(name))
      throw new CsvSyntaxError(
        { file, line: head.line },
        `the header names column ${quoteValue(name)} twice; columns are found by name, so each must be unique`,
      );
    seen.add(name);
  }
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.fields.length !== head.fields.length) {
      throw new CsvFieldCountError({ file, line: rec.line }, head.fields.length, rec.fields.length);
    }
  }
  return { header: head.fields, rows: records.slice(1) };
}

/** Writes one CSV field, quoting it only when RFC 4180 requires (a comma, quote, CR or LF inside). */
export function formatCsvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Writes records as CSV text with LF line ends and a final LF (the authors' `items.csv` style). */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  let out = '';
  for (const row of rows) out += `${row.map(formatCsvField).join(',')}\n`;
  return out;
}
