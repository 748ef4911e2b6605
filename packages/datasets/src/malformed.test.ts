import { describe, expect, it } from 'vitest';
import { parseAmazon2014Meta } from './amazon2014.js';
import { parseAuthorsItems, parseAuthorsSequences } from './authors.js';
import { parseCsvTable } from './csv.js';
import { CsvSyntaxError, DataFormatError, InvalidIdError, PythonLiteralError } from './errors.js';
import { parsePythonLiteral } from './python-literal.js';

describe('inputs that used to be accepted or crash', () => {
  it('an empty or blank sequences file is an error, not a dataset of 0 users', () => {
    for (const text of ['', '\n', '   \n'])
      expect(() => parseAuthorsSequences(text, { file: 'seq.txt' })).toThrow(
        text === '' ? /^seq\.txt:1: the file has no users/ : /^seq\.txt:1: empty line/,
      );
  });

  it('a gap in items.csv ids is an error naming the first missing id', () => {
    const csv = 'asin,title,imUrl,id\nA,a,u,1\nB,b,u,3\n';
    expect(() => parseAuthorsItems(csv, { file: 'items.csv' })).toThrow(DataFormatError);
    expect(() => parseAuthorsItems(csv, { file: 'items.csv' })).toThrow(
      /^items\.csv:3: item ids have gaps: 1 of 1\.\.3 are missing, the first is 2/,
    );
    expect(() => parseAuthorsItems('asin,title,imUrl,id\n', { file: 'items.csv' })).toThrow(
      /^items\.csv:2: the table has a header but no items/,
    );
  });

  it('a duplicate header column is an error (columns are found by name)', () => {
    expect(() => parseCsvTable('id,title,id\n1,a,2\n', 'x.csv')).toThrow(CsvSyntaxError);
    expect(() => parseCsvTable('id,title,id\n1,a,2\n', 'x.csv')).toThrow(
      /^x\.csv:1: the header names column "id" twice/,
    );
  });

  it('a 10 MB bad token is quoted to 80 characters', () => {
    const token = 'x'.repeat(10_000_000);
    let msg = '';
    try {
      parseAuthorsSequences(`1 2 ${token}\n`, { file: 's.txt' });
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidIdError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(
      /^s\.txt:1:5: item id "x{80}"\.\.\. \(10000000 characters\) is not a non-negative integer$/,
    );
    expect(msg.length).toBeLessThan(200);
  });

  it('a Python literal nested 5,000 deep is a PythonLiteralError with file and line, not a stack overflow', () => {
    const deep = `{'asin': 'A', 'x': ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(() => parseAmazon2014Meta(deep, 'meta.json', 7)).toThrow(PythonLiteralError);
    expect(() => parseAmazon2014Meta(deep, 'meta.json', 7)).toThrow(
      /^meta\.json:7:\d+: nested deeper than 200 levels/,
    );
    // 200 levels still parse.
    expect(parsePythonLiteral(`${'('.repeat(199)}1,${')'.repeat(199)}`)).toBeDefined();
  });
});
