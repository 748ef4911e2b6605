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
