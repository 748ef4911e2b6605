import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadAuthorsDataset,
  parseAuthorsItems,
  parseAuthorsSequences,
  saveAuthorsDataset,
} from './authors.js';
import {
  CsvFieldCountError,
  DataFormatError,
  DatasetError,
  DuplicateItemError,
  DuplicateUserError,
  InvalidIdError,
  UnknownItemError,
} from './errors.js';
import { generateSynthetic } from './synthetic.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmesid-authors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected a throw');
}

describe('parseAuthorsSequences', () => {
  it('reads user id then item ids, oldest first', () => {
    const s = parseAuthorsSequences('1 1 2 3\n2 4 1\r\n3 5\n');
    expect(s.userIds).toEqual(['1', '2', '3']);
    expect(s.sequences.map((x) => Array.from(x))).toEqual([[1, 2, 3], [4, 1], [5]]);
    expect(Array.from(s.lines)).toEqual([1, 2, 3]);
    expect(s.maxItemId).toBe(5);
    expect(parseAuthorsSequences('7 1 2').userIds).toEqual(['7']); // no final newline
  });

  it('rejects a non-integer id with file, line and column', () => {
    const e = thrown(() => parseAuthorsSequences('1 1 2\n2 3 x4 5\n', { file: 'seq.txt' }));
    expect(e).toBeInstanceOf(InvalidIdError);
    expect(e.message).toBe('seq.txt:2:5: item id "x4" is not a non-negative integer');
    expect(thrown(() => parseAuthorsSequences('1 1.5\n'))).toBeInstanceOf(InvalidIdError);
    expect(thrown(() => parseAuthorsSequences('1 -3\n'))).toBeInstanceOf(InvalidIdError);
    expect(thrown(() => parseAuthorsSequences('u1 3\n')).message).toMatch(/user id "u1"/);
    expect(thrown(() => parseAuthorsSequences('1 0\n')).message).toMatch(/padding/);
    expect(thrown(() => parseAuthorsSequences('1 99999999999\n'))).toBeInstanceOf(InvalidIdError);
  });

  it('rejects an id beyond the item table', () => {
    const e = thrown(() => parseAuthorsSequences('1 1 2\n2 3 13\n', { file: 'seq.txt', numItems: 12 }));
    expect(e).toBeInstanceOf(UnknownItemError);
    expect(e).toMatchObject({ file: 'seq.txt', line: 2, column: 5 });
    expect(e.message).toMatch(/beyond the item table, whose largest id is 12/);
  });

  it('rejects a duplicate user, an empty line and a user without items', () => {
    const dup = thrown(() => parseAuthorsSequences('1 1\n2 2\n1 3\n', { file: 'seq.txt' }));
    expect(dup).toBeInstanceOf(DuplicateUserError);
    expect(dup.message).toBe(
      'seq.txt:3:1: user 1 appears again (first on line 1); expected one line per user',
    );
    const empty = thrown(() => parseAuthorsSequences('1 1\n\n2 2\n', { file: 'seq.txt' }));
    expect(empty).toBeInstanceOf(DataFormatError);
    expect(empty).toMatchObject({ line: 2 });
    expect(thrown(() => parseAuthorsSequences('1 1\n2\n')).message).toMatch(/user 2 has no items/);
  });
});

describe('parseAuthorsItems', () => {
  const header = 'asin,title,imUrl,id\n';
  it('reads the table by header name, with RFC 4180 quoting', () => {
    const t = parseAuthorsItems(
      `${header}A000000001,"Cream, 2 oz ""big""",http://x/1.jpg,1\nA000000002,"two\nlines",http://x/2.jpg,2\n`,
    );
    expect(t.numItems).toBe(2);
    expect(t.rows).toBe(2);
    expect(t.items).toEqual([
      null,
      { asin: 'A000000001', title: 'Cream, 2 oz "big"', imageUrl: 'http://x/1.jpg' },
      { asin: 'A000000002', title: 'two\nlines', imageUrl: 'http://x/2.jpg' },
    ]);
  });

  it('rejects a wrong field count, a bad or repeated id and a missing column with file and line', () => {
    const count = thrown(() =>
      parseAuthorsItems(`${header}A,t,u,1\nB,t,with,comma,u,2\n`, { file: 'items.csv' }),
    );
    expect(count).toBeInstanceOf(CsvFieldCountError);
    expect(count).toMatchObject({ file: 'items.csv', line: 3, expected: 4, actual: 6 });
    // A quoted newline moves the following line numbers on.
    expect(thrown(() => parseAuthorsItems(`${header}A,"x\ny",u,1\nB,t,u,zz\n`))).toMatchObject({
      name: 'InvalidIdError',
      line: 4,
    });
    expect(thrown(() => parseAuthorsItems(`${header}A,t,u,0\n`))).toBeInstanceOf(InvalidIdError);
    expect(thrown(() => parseAuthorsItems(`${header}A,t,u,1\nB,t,u,1\n`))).toBeInstanceOf(DuplicateItemError);
    expect(thrown(() => parseAuthorsItems(`${header}A,t,u,1\nA,t,u,2\n`)).message).toMatch(
      /asin "A" appears again/,
    );
    expect(thrown(() => parseAuthorsItems('asin,title,id\nA,t,1\n')).message).toMatch(/no "imUrl" column/);
  });
});

describe('loadAuthorsDataset', () => {
  it('loads a directory and checks every sequence id against items.csv', async () => {
    const dir = mkdtempSync(join(tmp, 'ok-'));
    writeFileSync(join(dir, 'sequences.txt'), '1 1 2 3\n2 3 2 1 2\n');
    writeFileSync(
      join(dir, 'items.csv'),
      'asin,title,imUrl,id\nA1,t1,u1,1\nA2,t2,u2,2\nA3,t3,u3,3\nA4,t4,u4,4\n',
    );
    const ds = await loadAuthorsDataset(dir, { name: 'tiny' });
    expect(ds.name).toBe('tiny');
    expect(ds.numItems).toBe(4); // the table's size, even though item 4 has no interaction
    expect(ds.items[4]?.title).toBe('t4');
    expect(ds.provenance.kind).toBe('authors');
    expect(ds.provenance.files.map((f) => f.bytes)).toEqual([64, 18]);

    writeFileSync(join(dir, 'sequences.txt'), '1 1 2 3\n2 3 5\n');
    await expect(loadAuthorsDataset(dir)).rejects.toThrow(UnknownItemError);
    await expect(loadAuthorsDataset(dir)).rejects.toThrow(`${join(dir, 'sequences.txt')}:2:5:`);
  });

  it('works without an item table when none is there', async () => {
    const dir = mkdtempSync(join(tmp, 'noitems-'));
    writeFileSync(join(dir, 'sequences.txt'), '1 1 2 3\n2 7\n');
    const ds = await loadAuthorsDataset(dir);
    expect(ds.numItems).toBe(7);
    expect(ds.items).toHaveLength(8);
    expect(ds.items.every((m) => m === null)).toBe(true);
    expect(ds.provenance.notes.join(' ')).toMatch(/no item table/);
    await expect(loadAuthorsDataset(dir, { itemsFile: 'items.csv' })).rejects.toThrow(/ENOENT/);
  });

  it('rejects a file that is not UTF-8', async () => {
    const dir = mkdtempSync(join(tmp, 'latin1-'));
    writeFileSync(join(dir, 'sequences.txt'), '1 1\n');
    writeFileSync(join(dir, 'items.csv'), Buffer.from([0x61, 0x73, 0x69, 0x6e, 0xe9, 0x0a]));
    await expect(loadAuthorsDataset(dir)).rejects.toThrow(/not valid UTF-8/);
  });
});

describe('saveAuthorsDataset', () => {
  it('writes a dataset that loads back identically, titles with commas, quotes and newlines included', async () => {
    const data = generateSynthetic({ seed: 5, numUsers: 30, numItems: 40, maxSequenceLength: 12 });
    const items = data.items.map((m, id) =>
      m && id === 3 ? { ...m, title: 'A "quoted", multi\nline title' } : m,
    );
    const dir = join(tmp, 'saved');
    await saveAuthorsDataset(dir, { ...data, items });
    const back = await loadAuthorsDataset(dir);
    expect(back.sequences).toEqual(data.sequences);
    expect(back.items).toEqual(items);
    expect(back.userIds[0]).toBe('1');
    await expect(
      saveAuthorsDataset(join(tmp, 'bad'), {
        ...data,
        items: data.items.map((m, id) => (id === 2 ? null : m)),
      }),
    ).rejects.toBeInstanceOf(DatasetError);
  });
});
