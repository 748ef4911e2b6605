import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomizedSvd } from './randomized-svd.js';
import { sparseRowsFromMaps } from './sparse-rows.js';
import { TfidfVectorizer } from './tfidf-vectorizer.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/tfidf.json', import.meta.url), 'utf8')) as {
  corpus: string[];
  singular_values: number[];
  k: number;
  us: number[];
};

describe('randomizedSvd', () => {
  const x = TfidfVectorizer.fit(fixture.corpus).transform(fixture.corpus);

  it('recovers the top singular values and U diag(s) of numpy.linalg.svd (within 1e-8)', () => {
    const k = fixture.k;
    const svd = randomizedSvd(x, k, { seed: 1 });
    for (let j = 0; j < k; j++)
      expect(Math.abs(svd.singularValues[j]! - fixture.singular_values[j]!)).toBeLessThan(1e-8);
    let worst = 0;
    for (let i = 0; i < x.rows; i++)
      for (let j = 0; j < k; j++)
        worst = Math.max(
          worst,
          Math.abs(svd.u[i * k + j]! * svd.singularValues[j]! - fixture.us[i * k + j]!),
        );
    expect(worst).toBeLessThan(1e-7);
  });

  it('A V = U diag(s) and V has orthonormal columns when the sketch spans the rank', () => {
    const k = 4;
    const {
      u,
      v,
      singularValues: s,
      relativeResiduals,
    } = randomizedSvd(x, k, { seed: 2, oversamples: x.rows - k });
    for (const r of relativeResiduals) expect(r).toBeLessThan(1e-12);
    let worst = 0;
    for (let i = 0; i < x.rows; i++)
      for (let j = 0; j < k; j++) {
        let av = 0;
        for (let p = x.ptr[i]!; p < x.ptr[i + 1]!; p++) av += x.vals[p]! * v[x.idx[p]! * k + j]!;
        worst = Math.max(worst, Math.abs(av - u[i * k + j]! * s[j]!));
      }
    expect(worst).toBeLessThan(1e-8);
    for (let a = 0; a < k; a++)
      for (let b = 0; b < k; b++) {
        let dot = 0;
        for (let f = 0; f < x.cols; f++) dot += v[f * k + a]! * v[f * k + b]!;
        expect(Math.abs(dot - (a === b ? 1 : 0))).toBeLessThan(1e-8);
      }
  });

  it('reports the true residual ||A A^T u - s^2 u|| / s^2 of each pair when it has not converged', () => {
    const k = 4;
    const {
      u,
      singularValues: s,
      relativeResiduals,
    } = randomizedSvd(x, k, { seed: 2, oversamples: 2, powerIterations: 1 });
    for (let j = 0; j < k; j++) {
      const col = Float64Array.from({ length: x.rows }, (_, i) => u[i * k + j]!);
      const atu = new Float64Array(x.cols);
      for (let i = 0; i < x.rows; i++)
        for (let p = x.ptr[i]!; p < x.ptr[i + 1]!; p++)
          atu[x.idx[p]!] = atu[x.idx[p]!]! + x.vals[p]! * col[i]!;
      let sq = 0;
      for (let i = 0; i < x.rows; i++) {
        let v = 0;
        for (let p = x.ptr[i]!; p < x.ptr[i + 1]!; p++) v += x.vals[p]! * atu[x.idx[p]!]!;
        sq += (v - s[j]! ** 2 * col[i]!) ** 2;
      }
      expect(Math.abs(relativeResiduals[j]! - Math.sqrt(sq) / s[j]! ** 2)).toBeLessThan(1e-10);
    }
    expect(Math.max(...relativeResiduals)).toBeGreaterThan(1e-6);
  });

  it('is deterministic for a seed and validates k', () => {
    const a = randomizedSvd(x, 3, { seed: 5 });
    const b = randomizedSvd(x, 3, { seed: 5 });
    expect([...a.v]).toEqual([...b.v]);
    expect(() => randomizedSvd(x, 0)).toThrow(/k must be/);
    expect(() => randomizedSvd(x, x.rows + 1)).toThrow(/k must be/);
  });

  it('handles a rank-deficient matrix (k equal to the rank)', () => {
    // Two distinct rows repeated: rank 2.
    const rows = [
      new Map([
        [0, 1],
        [1, 2],
      ]),
      new Map([[2, 3]]),
      new Map([
        [0, 1],
        [1, 2],
      ]),
      new Map([[2, 3]]),
    ];
    const m = sparseRowsFromMaps(rows, 3);
    const { singularValues } = randomizedSvd(m, 2, { seed: 0 });
    expect(singularValues[0]!).toBeCloseTo(Math.sqrt(2) * 3, 10);
    expect(singularValues[1]!).toBeCloseTo(Math.sqrt(2) * Math.sqrt(5), 10);
  });
});
