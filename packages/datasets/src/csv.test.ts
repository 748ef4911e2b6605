import { Rng } from '@mmesid/core';
import { describe, expect, it } from 'vitest';
import { formatCsv, parseCsv, parseCsvTable } from './csv.js';
import { CsvFieldCountError, CsvSyntaxError } from './errors.js';

const fields = (text: string) => parseCsv(text, 't.csv').map((r) => r.fields);

describe('parseCsv (RFC 4180)', () => {
  it('reads plain and quoted fields, doubled quotes and empty fields', () => {
    expect(fields('a,b,c\n1,"x, y","say ""hi"""\n,,\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', 'say "hi"'],
      ['', '', ''],
    ]);
  });

  it('keeps line breaks inside quotes and reports the line each record starts on', () => {
    const recs = parseCsv('id,title\n1,"two\nlines"\n2,"three\r\nline\rbreaks"\n3,x', 't.csv');
    expect(recs.map((r) => r.fields)).toEqual([
      ['id', 'title'],
      ['1', 'two\nlines'],
      ['2', 'three\r\nline\rbreaks'],
      ['3', 'x'],
    ]);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 7]);
  });

  it('accepts CRLF and lone CR record ends, a missing final newline and a BOM', () => {
    expect(fields('\ufeffa,b\r\n1,2\r3,4')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(fields('')).toEqual([]);
    expect(fields('a,')).toEqual([['a', '']]);
    expect(fields('""')).toEqual([['']]);
  });

  it('treats an empty line as a one-field record, so a table check reports it', () => {
    expect(fields('a,b\n\n1,2\n')).toEqual([['a', 'b'], [''], ['1', '2']]);
    expect(() => parseCsvTable('a,b\n\n1,2\n', 't.csv')).toThrow(
      expect.objectContaining({ name: 'CsvFieldCountError', line: 2, expected: 2, actual: 1 }),
    );
  });

  it('rejects malformed quoting with file, line and column', () => {
    expect(() => parseCsv('a,b\n1,"open\n\n', 't.csv')).toThrow(
      expect.objectContaining({ name: 'CsvSyntaxError', file: 't.csv', line: 2, column: 3 }),
    );
    expect(() => parseCsv('a,b\n1,ab"c\n', 't.csv')).toThrow(
      expect.objectContaining({ name: 'CsvSyntaxError', line: 2, column: 5 }),
    );
    expect(() => parseCsv('a\n"x"y\n', 't.csv')).toThrow(/t\.csv:2:4: unexpected "y" after a closing quote/);
    expect(() => parseCsv('"a\nb"c', 't.csv')).toThrow(CsvSyntaxError);
  });

  it('parseCsvTable checks every row against the header', () => {
    const t = parseCsvTable('asin,title,imUrl,id\nA,"t, 1",u,1\n', 't.csv');
    expect(t.header).toEqual(['asin', 'title', 'imUrl', 'id']);
    expect(t.rows[0]!.fields).toEqual(['A', 't, 1', 'u', '1']);
    const err = (() => {
      try {
        parseCsvTable('asin,title,imUrl,id\nA,t,u,1\nB,t, with comma,u,2\n', 'items.csv');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CsvFieldCountError);
    expect((err as Error).message).toBe('items.csv:3: expected 4 fields (as in the header) but found 5');
  });

  it('round-trips random tables through formatCsv', () => {
    const rng = new Rng(3);
    const alphabet = ['a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '★', ''];
    for (let trial = 0; trial < 200; trial++) {
      const cols = 1 + rng.int(4);
      const rows = Array.from({ length: 1 + rng.int(5) }, () =>
        Array.from({ length: cols }, () =>
          Array.from({ length: rng.int(6) }, () => alphabet[rng.int(alphabet.length)]).join(''),
        ),
      );
      // A lone empty field is written as an empty line, which reads back as one empty field: fine.
      expect(fields(formatCsv(rows))).toEqual(rows);
    }
  });
});
