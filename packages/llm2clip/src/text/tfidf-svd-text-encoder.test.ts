import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuthorsItems } from '@mmesid/datasets';
import { sharedDir } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeItems } from '../encode-items.js';
import { MissingInputError } from '../errors.js';
import { itemsFromMeta } from '../item.js';
import { TfidfSvdTextEncoder } from './tfidf-svd-text-encoder.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/tfidf.json', import.meta.url), 'utf8')) as {
  corpus: string[];
  k: number;
  us: number[];
};
const beauty = sharedDir('datasets', 'beauty');
const tmp = mkdtempSync(join(tmpdir(), 'llm2clip-tfidf-'));

describe('TfidfSvdTextEncoder', () => {
  const k = fixture.k;
  const enc = TfidfSvdTextEncoder.fit(fixture.corpus, {
    dim: k,
    seed: 0,
    oversamples: fixture.corpus.length,
  });

  it('encodes a fitted title to its row of U diag(s) (numpy SVD of the scikit-learn TF-IDF), within 1e-6', async () => {
    const v = await enc.encode(fixture.corpus);
    let worst = 0;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i]! - fixture.us[i]!));
    expect(worst).toBeLessThan(1e-6);
  });

  it('is deterministic per seed, batch-independent, and names its fit', async () => {
    const again = TfidfSvdTextEncoder.fit(fixture.corpus, {
      dim: k,
      seed: 0,
      oversamples: fixture.corpus.length,
    });
    expect(again.name).toBe(enc.name);
    expect(enc.name).toMatch(
      /^tfidf-svd\(d=6,word1-2,charwb3-5,mindf=1,sublinear,fit=n16-[0-9a-f]{8}-seed0\)$/,
    );
    const all = await enc.encode(fixture.corpus);
    const one = await enc.encode([fixture.corpus[3]!]);
    expect([...one]).toEqual([...all.subarray(3 * k, 4 * k)]);
    expect([...(await again.encode(fixture.corpus))]).toEqual([...all]);
  });

  it('saves and loads to the same vectors', async () => {
    const file = join(tmp, 'tfidf.safetensors');
    await enc.save(file);
    const loaded = await TfidfSvdTextEncoder.load(file);
    expect(loaded.name).toBe(enc.name);
    expect([...(await loaded.encode(fixture.corpus))]).toEqual([...(await enc.encode(fixture.corpus))]);
  });

  it('reports empty texts missing and gives unseen words the zero vector', async () => {
    const { vectors, missing } = await enc.encodeBatch(['', { id: 4, title: 'qqqq zzzz' }]);
    expect(missing).toEqual([{ index: 0, reason: 'empty text' }]);
    expect([...vectors.subarray(k)].every((x) => x === 0)).toBe(true);
    await expect(enc.encode([' '])).rejects.toBeInstanceOf(MissingInputError);
    expect(() => TfidfSvdTextEncoder.fit(fixture.corpus, { dim: 17 })).toThrow(/dim 17 > min\(16 texts/);
  });

  it.skipIf(!beauty.path)('fits Beauty titles (first 2,000, d = 32) and fills an item table', async () => {
    const { items } = parseAuthorsItems(readFileSync(join(beauty.path!, 'items.csv'), 'utf8'));
    const some = itemsFromMeta(items).slice(0, 2000);
    const e = TfidfSvdTextEncoder.fit(
      some.map((i) => i.title!),
      { dim: 32, seed: 0 },
    );
    const r = await encodeItems(some, e, { batchSize: 500 });
    expect([r.encoded, r.missing.size, r.table.rows, r.table.dim]).toEqual([2000, 0, 2001, 32]);
    // Titles that share words are closer than unrelated ones: item 1 and 2 are both OPI nail polish.
    const row = (id: number) => r.table.data.subarray(id * 32, (id + 1) * 32);
    const cos = (a: Float32Array, b: Float32Array) => {
      let d = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < a.length; i++) {
        d += a[i]! * b[i]!;
        na += a[i]! ** 2;
        nb += b[i]! ** 2;
      }
      return d / Math.sqrt(na * nb);
    };
    expect(cos(row(1), row(2))).toBeGreaterThan(cos(row(1), row(3)));
  });
});
