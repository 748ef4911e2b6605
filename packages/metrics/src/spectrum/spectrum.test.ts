import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, ShapeError, symmetricEigenvalues } from '@mmesid/tensor';
import { describeBackends, sharedDir } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import type { EmbeddingTable } from '../table.js';
import { gramMatrix } from './gram.js';
import { normalizeSpectrum, singularValues } from './singular-values.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/spectrum.json', import.meta.url), 'utf8')) as {
  tables: { name: string; rows: number; cols: number; data: number[]; singular: number[] }[];
  symmetric: { name: string; n: number; data: number[]; eigenvalues: number[] }[];
  sasrec_beauty_rows_1_12086?: number[];
};

/**
 * The error a Gram-based method may make on sigma_i: the eigenvalue error is below
 * c * eps * sigma_max^2 (backward stability; eps = 2^-52 for float64 Gram, 2^-23 for float32), and
 * |sigma - sigma'| <= min(dLambda / sigma', sqrt(dLambda)).
 */
function sigmaTolerance(expected: number, top: number, epsScale: number): number {
  const dLambda = epsScale * top * top;
  return Math.min(dLambda / Math.max(expected, 1e-300), Math.sqrt(dLambda)) + 1e-12 * top;
}

const tableOf = (t: { rows: number; cols: number; data: number[] }): EmbeddingTable => ({
  rows: t.rows,
  cols: t.cols,
  data: Float32Array.from(t.data),
});

describe('symmetricEigenvalues (Householder + implicit QL)', () => {
  it('matches numpy.linalg.eigvalsh on fixtures (fixtures/make_spectrum.py)', () => {
    for (const c of fixture.symmetric) {
      const got = symmetricEigenvalues(Float64Array.from(c.data), c.n);
      const scale = Math.max(1, ...c.eigenvalues.map(Math.abs));
      for (let i = 0; i < c.n; i++)
        expect(Math.abs(got[i]! - c.eigenvalues[i]!), `${c.name} #${i}`).toBeLessThan(1e-12 * scale);
    }
  });

  it('keeps the trace and the Frobenius norm of random symmetric matrices', () => {
    const rng = new Rng(8);
    for (const n of [3, 17, 64, 129]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
      let trace = 0;
      let fro = 0;
      for (let i = 0; i < n; i++) trace += a[i * n + i]!;
      for (const v of a) fro += v * v;
      const copy = a.slice();
      const ev = symmetricEigenvalues(a, n);
      expect(a).toEqual(copy); // not modified
      expect(ev.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 9);
      expect(ev.reduce((s, v) => s + v * v, 0)).toBeCloseTo(fro, 8);
      for (let i = 1; i < n; i++) expect(ev[i]!).toBeGreaterThanOrEqual(ev[i - 1]!);
    }
  });

  it('rejects non-square and non-finite input', () => {
    expect(() => symmetricEigenvalues(new Float64Array(5), 2)).toThrow(ShapeError);
    expect(() => symmetricEigenvalues(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2)).toThrow(
      /entry \(0, 1\) is NaN/,
    );
  });
});

describe('singular values (float64 Gram)', () => {
  it('matches numpy.linalg.svd on fixtures, including N < d, rank-deficient and decaying spectra', async () => {
    for (const t of fixture.tables) {
      const s = await singularValues(tableOf(t));
      expect(s.values.length, t.name).toBe(Math.min(t.rows, t.cols));
      const top = t.singular[0]!;
      for (let i = 0; i < s.values.length; i++) {
        expect(Math.abs(s.values[i]! - t.singular[i]!), `${t.name} #${i}`).toBeLessThanOrEqual(
          sigmaTolerance(t.singular[i]!, top, 1e-13),
        );
      }
      expect(s.normalized[0]).toBe(1);
      expect(s.log10[s.values.length - 1]).toBeCloseTo(
        Math.log10(s.values[s.values.length - 1]! / s.values[0]!),
        12,
      );
    }
  });

  it('builds the same Gram matrix both ways round', () => {
    const t = tableOf(fixture.tables[0]!);
    const g = gramMatrix(t);
    expect(g.kind).toBe('columns');
    expect(g.n).toBe(12);
    let s = 0;
    for (let r = 0; r < t.rows; r++) s += t.data[r * t.cols + 3]! * t.data[r * t.cols + 7]!;
    expect(g.data[3 * 12 + 7]).toBeCloseTo(s, 12);
    expect(g.data[7 * 12 + 3]).toBe(g.data[3 * 12 + 7]);
    const rows = gramMatrix(t, { fromRow: 5, toRow: 10 });
    expect(rows.kind).toBe('rows');
    let r = 0;
    for (let c = 0; c < t.cols; c++) r += t.data[6 * t.cols + c]! * t.data[8 * t.cols + c]!;
    expect(rows.data[1 * 5 + 3]).toBeCloseTo(r, 12);
  });

  it('validates the row range and refuses an all-zero table', async () => {
    const t: EmbeddingTable = { rows: 4, cols: 3, data: new Float32Array(12) };
    await expect(singularValues(t, { fromRow: 4 })).rejects.toThrow(/row range 4..4/);
    await expect(singularValues(t)).rejects.toThrow(/all zeros/);
    expect(() => normalizeSpectrum([])).toThrow();
  });

  const beauty = sharedDir('datasets', 'beauty');
  it.skipIf(!beauty.path)(
    "gives the README's spectrum of the authors' Beauty SASRec table (rows 1..12086)",
    async () => {
      const buf = readFileSync(join(beauty.path!, 'sasrec_item_emb.f32'));
      const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const table: EmbeddingTable = { rows: 12087, cols: 64, data: data.slice() };
      const s = await singularValues(table, { fromRow: 1 });
      expect(s.rows).toBe(12086);
      const readmeTop = [
        46.3004, 41.9862, 36.5749, 29.2304, 27.8529, 27.0646, 26.3361, 26.0773, 23.8692, 23.2846,
      ];
      const readmeBottom = [
        15.0421, 14.9575, 14.7439, 14.5532, 14.2515, 13.8312, 13.0222, 11.3401, 10.502, 6.9212,
      ];
      for (let i = 0; i < 10; i++) {
        expect(Math.abs(s.values[i]! - readmeTop[i]!)).toBeLessThanOrEqual(5e-5);
        expect(Math.abs(s.values[54 + i]! - readmeBottom[i]!)).toBeLessThanOrEqual(5e-5);
      }
      if (fixture.sasrec_beauty_rows_1_12086) {
        const np = fixture.sasrec_beauty_rows_1_12086;
        for (let i = 0; i < 64; i++) expect(Math.abs(s.values[i]! - np[i]!)).toBeLessThan(1e-9);
      }
      expect(s.values[0]! / s.values[63]!).toBeCloseTo(6.69, 2);
    },
  );
});

describeBackends("singular values with the backend's float32 Gram", () => {
  it('matches numpy to float32 Gram accuracy', async () => {
    for (const t of fixture.tables) {
      const s = await singularValues(tableOf(t), { gram: 'backend' });
      expect(s.gram).toBe('backend');
      const top = t.singular[0]!;
      for (let i = 0; i < s.values.length; i++) {
        expect(Math.abs(s.values[i]! - t.singular[i]!), `${t.name} #${i}`).toBeLessThanOrEqual(
          sigmaTolerance(t.singular[i]!, top, 1e-5),
        );
      }
    }
  });
});
