import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureTexts } from '../fixtures/amazon2014/generate.js';
import {
  AMAZON_2014_CATEGORIES,
  amazon2014FileNames,
  loadAmazon2014,
  parseAmazon2014Meta,
  parseAmazon2014Review,
  preprocessAmazon2014,
  readAmazon2014Meta,
} from './amazon2014.js';
import {
  ConfigError,
  DataFormatError,
  DuplicateItemError,
  JsonLineError,
  PythonLiteralError,
} from './errors.js';
import { datasetReport } from './report.js';

const fixtures = fileURLToPath(new URL('../fixtures/amazon2014/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'mmesid-amazon-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const P = (k: number | string) => `B00000000${k}`;

describe('the committed fixtures', () => {
  it('are what generate.ts writes', () => {
    for (const [name, text] of Object.entries(fixtureTexts())) {
      expect(gunzipSync(readFileSync(join(fixtures, name))).toString('utf8'), name).toBe(text);
    }
  });
});

describe('loadAmazon2014 on the Beauty fixture', async () => {
  const ds = await loadAmazon2014({ dir: fixtures, category: 'Beauty' });
  const filter = (name: string) => ds.provenance.filters.find((f) => f.name === name)!;

  it('applies each filter in order and counts what it removed', () => {
    expect(ds.provenance.filters.map((f) => f.name)).toEqual([
      'duplicate-interaction',
      'no-metadata',
      'missing-title-or-image',
      'k-core',
    ]);
    expect(filter('duplicate-interaction')).toMatchObject({
      removedUsers: 0,
      removedItems: 0,
      removedInteractions: 1,
    });
    expect(filter('no-metadata')).toMatchObject({ removedUsers: 0, removedItems: 1, removedInteractions: 5 });
    expect(filter('missing-title-or-image')).toMatchObject({
      removedUsers: 0,
      removedItems: 2,
      removedInteractions: 11,
    });
    // Round 1 removes users U7, U8 (4 left each) and item P7 (4 users); that leaves CASCADE with 4
    // users, removed in round 2; round 3 removes nothing.
    expect(filter('k-core')).toMatchObject({ removedUsers: 2, removedItems: 2, removedInteractions: 14 });
    expect(filter('k-core').description).toContain('2 removing rounds');
  });

  it('orders by time with file-line tie-break and re-indexes users and items from 1', () => {
    expect(ds.userIds).toEqual(['U1', 'U3', 'U2', 'U5', 'U4', 'U6']);
    expect(ds.numItems).toBe(6);
    expect(ds.items.map((m) => m?.asin ?? null)).toEqual([null, P(5), P(4), P(3), P(1), P(2), P(6)]);
    expect(ds.sequences.map((s) => Array.from(s))).toEqual([
      [1, 2, 3, 4, 5], // U1: P4 and P3 share a time; P4's line comes first
      [4, 5, 6, 1, 3], // U3: P2 and P6 share a time; P2's line comes first
      [6, 2, 3, 5, 4],
      [3, 4, 6, 1, 2],
      [4, 5, 2, 1, 6], // U4: all five at one time, so file order
      [6, 1, 2, 3, 5],
    ]);
    const r = datasetReport(ds);
    expect([r.users, r.items, r.interactions]).toEqual([6, 6, 30]);
  });

  it('reads titles from Python literals exactly', () => {
    expect(ds.items.slice(1).map((m) => m!.title)).toEqual([
      "Baby's Breath Mist",
      'Nail Polish, "Red"',
      'Gel\tFormula\nNight',
      'L\'Oreal Paris "Magic" Cream',
      'Crème Brûlée Lip Balm – 2 pack',
      'Café Set ™ Deluxe',
    ]);
    expect(ds.items[1]!.imageUrl).toBe('http://ecx.images-amazon.com/images/I/p5._SY300_.jpg');
    expect(ds.name).toBe('beauty');
    expect(ds.provenance.files.map((f) => f.path.split('/').pop())).toEqual(
      Object.values(amazon2014FileNames('Beauty')),
    );
    expect(ds.provenance.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('notes \\xNN escapes above 0x7f and can read metadata as Python 2 byte strings', async () => {
    expect(ds.provenance.notes.join('\n')).toMatch(/1 metadata line\(s\) hold \\xNN escapes above 0x7f/);
    const py2 = await loadAmazon2014({ dir: fixtures, category: 'Beauty', metaStrings: 'python2' });
    expect(py2.items.map((m) => m?.title)).toEqual(ds.items.map((m) => m?.title));
    expect(py2.provenance.notes.join('\n')).toContain('read with python2 semantics');
  });

  it('can relax the filters', async () => {
    const loose = await loadAmazon2014({
      dir: fixtures,
      category: 'Beauty',
      requireImage: false,
      requireTitle: false,
      minUserInteractions: 1,
      minItemInteractions: 1,
    });
    // Only the duplicate and the item without any metadata go.
    expect(datasetReport(loose).interactions).toBe(61 - 1 - 5);
    await expect(
      loadAmazon2014({ dir: fixtures, category: 'Beauty', minUserInteractions: 0 }),
    ).rejects.toThrow(ConfigError);
  });
});

describe.each([
  ['Toys_and_Games', 6, 6, 36, { removedUsers: 1, removedItems: 0, removedInteractions: 3 }],
  ['Sports_and_Outdoors', 7, 5, 35, { removedUsers: 0, removedItems: 1, removedInteractions: 2 }],
] as const)('loadAmazon2014 on the %s fixture', (category, users, items, interactions, kcore) => {
  it('keeps the 5-core block and removes the noise', async () => {
    expect(AMAZON_2014_CATEGORIES).toContain(category);
    const ds = await loadAmazon2014({ dir: fixtures, category });
    const r = datasetReport(ds);
    expect([r.users, r.items, r.interactions]).toEqual([users, items, interactions]);
    expect(ds.provenance.filters.find((f) => f.name === 'k-core')).toMatchObject(kcore);
    expect(ds.sequences.every((s) => s.length >= 5)).toBe(true);
  });
});

it('orders a Toys user chronologically', async () => {
  const ds = await loadAmazon2014({ dir: fixtures, category: 'Toys_and_Games' });
  // T1's review of toy i is at day (3 i) mod 11: toys 1, 5, 2, 6, 3, 4 in time order.
  const t1 = Array.from(ds.sequences[ds.userIds.indexOf('T1')]!).map((id) => ds.items[id]!.asin.slice(-1));
  expect(t1).toEqual(['1', '5', '2', '6', '3', '4']);
});

describe('bad input', () => {
  it('names file and line for a broken review line', () => {
    expect(() => parseAmazon2014Review('{"reviewerID": "A", "asin": "B"', 'r.json', 7)).toThrow(
      expect.objectContaining({ name: 'JsonLineError', file: 'r.json', line: 7 }),
    );
    expect(() =>
      parseAmazon2014Review('{"reviewerID": "A", "asin": "B", "unixReviewTime": 1.5}', 'r.json', 2),
    ).toThrow(/r\.json:2: "unixReviewTime" must be an integer/);
    expect(() => parseAmazon2014Review('[1]', 'r.json', 3)).toThrow(JsonLineError);
    expect(() => parseAmazon2014Review('{"asin": "B", "unixReviewTime": 1}', 'r.json', 4)).toThrow(
      /reviewerID/,
    );
  });

  it('names file, line and column for a broken metadata line', () => {
    expect(() => parseAmazon2014Meta("{'asin': 'B1', 'title': 'x}", 'm.json', 5)).toThrow(PythonLiteralError);
    expect(() => parseAmazon2014Meta("{'asin': 'B1', 'title': __import__('os')}", 'm.json', 5)).toThrow(
      /m\.json:5:25: name "__import__" is not a literal/,
    );
    expect(() => parseAmazon2014Meta("['B1']", 'm.json', 1)).toThrow(DataFormatError);
    expect(() => parseAmazon2014Meta("{'asin': 'B1', 'title': 3}", 'm.json', 1)).toThrow(
      /"title" must be a string/,
    );
  });

  it('reports an empty line, a conflicting duplicate asin and a truncated gzip by file and line', async () => {
    const meta = join(tmp, 'meta_X.json.gz');
    writeFileSync(meta, gzipSync("{'asin': 'A1', 'title': 't', 'imUrl': 'u'}\n\n"));
    await expect(readAmazon2014Meta(meta)).rejects.toThrow(`${meta}:2: empty line`);

    writeFileSync(
      meta,
      gzipSync("{'asin': 'A1', 'title': 't', 'imUrl': 'u'}\n{'asin': 'A1', 'title': 't', 'imUrl': 'u'}\n"),
    );
    expect((await readAmazon2014Meta(meta)).repeatedLines).toBe(1);
    writeFileSync(
      meta,
      gzipSync(
        "{'asin': 'A1', 'title': 't', 'imUrl': 'u'}\n{'asin': 'A1', 'title': 'other', 'imUrl': 'u'}\n",
      ),
    );
    await expect(readAmazon2014Meta(meta)).rejects.toThrow(DuplicateItemError);

    const whole = gzipSync(`${"{'asin': 'A1', 'title': 't', 'imUrl': 'u'}\n".repeat(2000)}`);
    writeFileSync(meta, whole.subarray(0, whole.length - 20));
    await expect(readAmazon2014Meta(meta)).rejects.toThrow(DataFormatError);
  });

  it('reads unpacked files too', async () => {
    const dir = mkdtempSync(join(tmp, 'plain-'));
    const texts = fixtureTexts();
    for (const name of Object.values(amazon2014FileNames('Sports_and_Outdoors'))) {
      writeFileSync(join(dir, name.replace(/\.gz$/, '')), texts[name]!);
    }
    const ds = await loadAmazon2014({
      dir,
      category: 'Sports_and_Outdoors',
      reviewsFile: 'reviews_Sports_and_Outdoors_5.json',
      metaFile: 'meta_Sports_and_Outdoors.json',
    });
    expect(datasetReport(ds).interactions).toBe(35);
  });

  it('preprocesses in-memory records without touching files', () => {
    const reviews = ['a', 'b'].flatMap((u) =>
      ['x', 'y'].map((asin, k) => ({ reviewerID: u, asin, unixReviewTime: 10 - k, line: k + 1 })),
    );
    const meta = new Map([
      ['x', { title: 'X', imUrl: 'ux' }],
      ['y', { title: 'Y', imUrl: 'uy' }],
    ]);
    const ds = preprocessAmazon2014(reviews, meta, {
      minItemInteractions: 2,
      minUserInteractions: 2,
      name: 'tiny',
    });
    expect(ds.sequences.map((s) => Array.from(s))).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(ds.items[1]!.asin).toBe('y');
  });
});
