// The authors' Beauty files in ../shared must load with exactly the figures their README states.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAuthorsDataset } from './authors.js';
import type { Dataset, Matrix } from './dataset.js';
import { loadEmbedding } from './embedding.js';
import { datasetReport, splitReport } from './report.js';
import { itemFrequency, leaveOneOut, normalizedLogFrequency, trainingSequences } from './split.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const shared = process.env.MMESID_SHARED ?? resolve(packageDir, '../../../shared');
const beautyDir = join(shared, 'datasets', 'beauty');
const present = existsSync(join(beautyDir, 'sequences.txt')) && existsSync(join(beautyDir, 'items.csv'));
if (!present) {
  console.warn(
    `[@mmesid/datasets] skipping the Beauty tests: ${beautyDir} has no sequences.txt/items.csv ` +
      '(set MMESID_SHARED to the folder that holds datasets/beauty)',
  );
}

describe('the authors’ Beauty files', () => {
  let beauty: Dataset;
  beforeAll(async () => {
    if (present) beauty = await loadAuthorsDataset(beautyDir);
  });

  it.skipIf(!present)('loads with the README’s counts and length statistics', () => {
    const r = datasetReport(beauty);
    expect(r.users).toBe(22_332);
    expect(r.items).toBe(12_086);
    expect(r.itemsWithInteractions).toBe(12_086);
    expect(r.itemsWithMetadata).toBe(12_086);
    expect(r.interactions).toBe(198_215);
    expect(r.density).toBeCloseTo(198_215 / (22_332 * 12_086), 12);
    expect(r.sequenceLength.min).toBe(5);
    expect(r.sequenceLength.max).toBe(204);
    expect(r.sequenceLength.mean.toFixed(4)).toBe('8.8758');
    expect(r.sequenceLength.median).toBe(6);
    expect(r.repeatedInteractions).toBe(0);
    expect(beauty.sequences.filter((s) => s.length > 52)).toHaveLength(136);
  });

  it.skipIf(!present)('keeps user ids 1..22,332 in file order and the files’ published checksums', () => {
    expect(beauty.userIds[0]).toBe('1');
    expect(beauty.userIds.at(-1)).toBe('22332');
    expect(Array.from(beauty.sequences[0]!)).toEqual([1, 2, 3, 4, 5]);
    const bySuffix = (s: string) => beauty.provenance.files.find((f) => f.path.endsWith(s))!;
    expect(bySuffix('sequences.txt')).toMatchObject({
      bytes: 1_088_361,
      sha256: '2e647854960dffb87fbc38a5a2b3599978b8f53e7d01f421efdb73d4c8dd66dc',
    });
    expect(bySuffix('items.csv')).toMatchObject({
      bytes: 1_775_473,
      sha256: '944bcd192434bd5662cc43464b36beb14f8a17025340ba976e8d166da9099b4b',
    });
  });

  it.skipIf(!present)('parses items.csv with its quirks (quoted newline, trailing spaces, non-ASCII)', () => {
    expect(beauty.items[0]).toBeNull();
    expect(beauty.items[1]).toEqual({
      asin: 'B004756YJA',
      title: 'OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce',
      imageUrl: 'http://ecx.images-amazon.com/images/I/411jo-OUGeL.jpg',
    });
    expect(beauty.items[9364]!.title).toBe('TheraNeem Cream - Original Organix South 2 oz Cream \nVanilla');
    expect(beauty.items[7678]!.title.endsWith(' ')).toBe(true);
    expect(beauty.items[9017]!.title.endsWith(' ')).toBe(true);
    expect(beauty.items[2430]!.title).toContain('Dickinson?s');
    const metas = beauty.items.slice(1).map((m) => m!);
    expect(metas.every((m) => /^[A-Z0-9]{10}$/.test(m.asin))).toBe(true);
    expect(metas.filter((m) => [...m.title].some((ch) => ch.codePointAt(0)! > 0x7f))).toHaveLength(248);
    const placeholder = metas.filter((m) => m.imageUrl.includes('no-img-sm'));
    expect(placeholder).toHaveLength(14);
    expect(metas.every((m) => m.title !== '' && m.imageUrl !== '')).toBe(true);
  });

  it.skipIf(!present)(
    'splits as the authors do: 150,041 training pairs, 22,196 with an empty history',
    () => {
      const split = leaveOneOut(beauty);
      const r = splitReport(split);
      expect(r.trainPairs).toBe(150_041);
      expect(r.emptyHistoryPairs).toBe(22_196);
      expect(r.validPairs).toBe(22_332);
      expect(r.testPairs).toBe(22_332);
      expect(r.trainOnlyUsers).toBe(0);
      // Test input: the whole history except the last item, uncapped.
      expect(r.testHistoryLength.max).toBe(203);
      expect(r.trainHistoryLength.max).toBe(201);
      const u0 = beauty.sequences[0]!;
      expect(split.test[0]).toMatchObject({ user: 0, target: u0[4] });
      expect(Array.from(split.test[0]!.history)).toEqual(Array.from(u0.subarray(0, 4)));
      expect(Array.from(split.valid[0]!.history)).toEqual(Array.from(u0.subarray(0, 3)));

      const freq = itemFrequency(split.train, beauty.numItems);
      expect(freq.reduce((a, b) => a + b, 0)).toBe(150_041);
      const feature = normalizedLogFrequency(freq);
      expect(Math.min(...feature.subarray(1))).toBe(0);
      expect(Math.max(...feature.subarray(1))).toBeCloseTo(1, 6);

      const capped = leaveOneOut(beauty, { maxHistory: 50 });
      expect(capped.train).toHaveLength(150_041);
      expect(Math.max(...capped.test.map((e) => e.history.length))).toBe(50);

      const all = trainingSequences(beauty);
      expect(all.sequences).toHaveLength(22_332);
      expect(all.sequences.reduce((s, q) => s + q.items.length, 0)).toBe(198_215 - 2 * 22_332);
    },
  );

  it.skipIf(!present)('reads the SASRec embedding table with the README’s figures', async () => {
    const emb: Matrix = await loadEmbedding(join(beautyDir, 'sasrec_item_emb.f32'));
    expect([emb.rows, emb.cols]).toEqual([12_087, 64]);
    const norm = (r: number) => Math.hypot(...emb.data.subarray(r * 64, (r + 1) * 64));
    expect(norm(0)).toBeCloseTo(0.1002, 4);
    let min = Number.POSITIVE_INFINITY;
    let argmin = -1;
    let max = 0;
    let argmax = -1;
    for (let r = 1; r < emb.rows; r++) {
      const n = norm(r);
      if (n < min) [min, argmin] = [n, r];
      if (n > max) [max, argmax] = [n, r];
    }
    expect([argmin, argmax]).toEqual([1517, 3030]);
    expect(min).toBeCloseTo(0.7961, 4);
    expect(max).toBeCloseTo(2.8485, 4);
    expect(emb.data.every(Number.isFinite)).toBe(true);
  });
});
