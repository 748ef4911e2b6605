import { Rng } from '@mmesid/core';
import { describe, expect, it } from 'vitest';
import { MmesidError, ShapeError } from '../errors.js';
import { symmetricEigen, symmetricEigenvalues } from './symmetric-eigen.js';

function randomSymmetric(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

describe('symmetricEigen (Householder + implicit QL with accumulated vectors)', () => {
  it('diagonalises: A V = V diag(values), V orthonormal, values ascending and equal to symmetricEigenvalues', () => {
    const rng = new Rng(3);
    for (const n of [1, 2, 3, 7, 40]) {
      const a = randomSymmetric(n, rng);
      const copy = a.slice();
      const { values, vectors } = symmetricEigen(a, n);
      expect(a).toEqual(copy);
      const alone = symmetricEigenvalues(a, n);
      let worst = 0;
      let worstOrtho = 0;
      for (let j = 0; j < n; j++) {
        expect(Math.abs(values[j]! - alone[j]!)).toBeLessThan(1e-12 * n);
        if (j > 0) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let k = 0; k < n; k++) av += a[i * n + k]! * vectors[k * n + j]!;
          worst = Math.max(worst, Math.abs(av - values[j]! * vectors[i * n + j]!));
        }
        for (let l = 0; l < n; l++) {
          let dot = 0;
          for (let k = 0; k < n; k++) dot += vectors[k * n + j]! * vectors[k * n + l]!;
          worstOrtho = Math.max(worstOrtho, Math.abs(dot - (j === l ? 1 : 0)));
        }
      }
      expect(worst, `n ${n}`).toBeLessThan(1e-10);
      expect(worstOrtho, `n ${n}`).toBeLessThan(1e-12);
    }
  });

  it('gives the closed form of [[2, 1], [1, 2]] and handles a repeated eigenvalue', () => {
    const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
    expect(Array.from(values)).toEqual([1, 3].map((v) => expect.closeTo(v, 14)));
    // Eigenvector of 3 is +-(1, 1)/sqrt(2).
    expect(Math.abs(vectors[0 * 2 + 1]! - vectors[1 * 2 + 1]!)).toBeLessThan(1e-14);
    expect(Math.abs(Math.abs(vectors[1]!) - Math.SQRT1_2)).toBeLessThan(1e-14);
    const id = symmetricEigen(Float64Array.of(5, 0, 0, 0, 5, 0, 0, 0, 5), 3);
    expect(Array.from(id.values)).toEqual([5, 5, 5]);
  });

  it('rejects non-square and non-finite input', () => {
    expect(() => symmetricEigen(new Float64Array(5), 2)).toThrow(ShapeError);
    expect(() => symmetricEigen(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2)).toThrow(MmesidError);
    expect(() => symmetricEigenvalues(Float64Array.of(1, Number.NaN, Number.NaN, 1), 2)).toThrow(
      /entry \(0, 1\) is NaN/,
    );
  });
});

describe('symmetricEigenvalues on a rank-deficient Gram matrix (embedding-collapse spectra)', () => {
  it('converges on X^T X of a float32 rank-17 table at d = 128 and gives its 17 values in closed form', () => {
    // X = U diag(s) V^T with orthonormal DCT-II columns (closed form), rounded to float32 as an
    // embedding table is: X^T X has eigenvalues s_k^2 (k < 17) and 111 at the rounding level. Before
    // the fallback splitting test, QL spent 60 sweeps on that cluster and threw.
    const N = 300;
    const d = 128;
    const r = 17;
    const dct = (n: number, k: number, j: number) =>
      Math.sqrt((k === 0 ? 1 : 2) / n) * Math.cos((Math.PI * (j + 0.5) * k) / n);
    const s = Array.from({ length: r }, (_, k) => 10 / (k + 1));
    const x = new Float32Array(N * d);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let k = 0; k < r; k++) v += dct(N, k + 1, i) * s[k]! * dct(d, k + 3, j);
        x[i * d + j] = v;
      }
    const g = new Float64Array(d * d);
    for (let a = 0; a < d; a++)
      for (let b = a; b < d; b++) {
        let v = 0;
        for (let i = 0; i < N; i++) v += x[i * d + a]! * x[i * d + b]!;
        g[a * d + b] = g[b * d + a] = v;
      }
    const values = symmetricEigenvalues(g, d);
    const top = Array.from(values.slice(d - r)).reverse();
    for (let k = 0; k < r; k++)
      expect(Math.abs(top[k]! - s[k]! ** 2) / s[k]! ** 2, `k ${k}`).toBeLessThan(1e-5);
    for (let k = 0; k < d - r; k++) expect(Math.abs(values[k]!)).toBeLessThan(1e-9 * s[0]! ** 2);
    let trace = 0;
    for (let i = 0; i < d; i++) trace += g[i * d + i]!;
    expect(Math.abs(values.reduce((a, b) => a + b, 0) - trace)).toBeLessThan(1e-10 * trace);
  });
});

describe('symmetricEigenvalues: random rank-17 float32 tables at d = 128', () => {
  it('converges (the relative-only splitting test threw on 34 of 40 such seeds) with the right rank, trace and norm', () => {
    for (const seed of [0, 38, 39]) {
      // The generator of apps/reproduce's E4SRec item tokens in miniature: a 16-wide table plus bias
      // through a Linear into 128 dimensions, stored in float32.
      const rng = new Rng(`eig-${seed}`);
      const N = 300;
      const r = 17;
      const d = 128;
      const a = rng.fillNormal(new Float32Array(N * r), 0, 1);
      const w = rng.fillNormal(new Float32Array(r * d), 0, 0.3);
      const x = new Float32Array(N * d);
      for (let i = 0; i < N; i++)
        for (let j = 0; j < d; j++) {
          let v = 0;
          for (let k = 0; k < r; k++) v += a[i * r + k]! * w[k * d + j]!;
          x[i * d + j] = v;
        }
      const g = new Float64Array(d * d);
      for (let p = 0; p < d; p++)
        for (let q = 0; q < d; q++) {
          let v = 0;
          for (let i = 0; i < N; i++) v += x[i * d + p]! * x[i * d + q]!;
          g[p * d + q] = v;
        }
      const values = symmetricEigenvalues(g, d);
      const max = values[d - 1]!;
      const above = Array.from(values).filter((v) => v > 1e-9 * max).length;
      expect(above, `seed ${seed}`).toBe(r);
      let trace = 0;
      let frob = 0;
      for (let i = 0; i < d * d; i++) frob += g[i]! ** 2;
      for (let i = 0; i < d; i++) trace += g[i * d + i]!;
      expect(Math.abs(values.reduce((s, v) => s + v, 0) - trace)).toBeLessThan(1e-10 * trace);
      expect(Math.abs(values.reduce((s, v) => s + v * v, 0) - frob)).toBeLessThan(1e-10 * frob);
    }
  });
});
