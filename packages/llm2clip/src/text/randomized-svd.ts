import { ConfigError, Rng, symmetricEigen } from '@mmesid/tensor';
import { orthonormalizeColumns } from './orthonormalize.js';
import { type SparseRows, sparseTimesDense, sparseTransposeTimesDense } from './sparse-rows.js';

/** Options of {@link randomizedSvd}. */
export interface RandomizedSvdOptions {
  /** Extra random directions beyond k (default 10). */
  oversamples?: number;
  /** Subspace (power) iterations with A A^T (default 6); more iterations, more accurate small singular values. */
  powerIterations?: number;
  /** Seed of the Gaussian start; the same seed gives the same result bit for bit. */
  seed?: number;
}

/** A rank-k truncated SVD A ~ U diag(s) V^T, float64, row-major. */
export interface TruncatedSvd {
  readonly k: number;
  /** Singular values, decreasing. */
  readonly singularValues: Float64Array;
  /** Left singular vectors, [rows, k]. */
  readonly u: Float64Array;
  /** Right singular vectors (the components), [cols, k]: V = A^T U diag(1/s). */
  readonly v: Float64Array;
  /**
   * How converged each pair is: ||A A^T u_j - s_j^2 u_j|| / s_j^2 (0 for an exact singular pair). With a
   * flat spectrum (TF-IDF of short, diverse titles) the trailing vectors converge slowly; raise
   * `powerIterations` or `oversamples` if these matter to you.
   */
  readonly relativeResiduals: Float64Array;
}

/**
 * Truncated SVD of a sparse matrix by randomized subspace iteration (Halko, Martinsson & Tropp 2011,
 * Alg. 4.4), in float64 JS, seeded:
 *
 *   Q <- orth(A A^T G), G Gaussian [n, k + p];  repeat q times: Q <- orth(A A^T Q)
 *   T = Q^T A A^T Q = E L E^T (Householder + QL);  U = Q E[:, :k],  s = sqrt(L[:k]),  V = A^T U / s
 *
 * Like scikit-learn's `randomized_svd` this is an approximation whose quality depends on the spectrum's
 * decay; `relativeResiduals` reports, per vector, how far it is from an exact singular pair.
 *
 * Iterating on the n x n operator A A^T (n = rows) means no dense [cols, k] random matrix is ever
 * formed; the one [cols, k + p] buffer holds A^T Q. Signs are fixed so that each column of U has its
 * largest-magnitude entry positive (as scikit-learn's `svd_flip`), so results are deterministic.
 *
 * @example
 * const { u, v, singularValues } = randomizedSvd(tfidf, 64, { seed: 0 });
 */
export function randomizedSvd(a: SparseRows, k: number, options: RandomizedSvdOptions = {}): TruncatedSvd {
  const n = a.rows;
  const maxRank = Math.min(a.rows, a.cols);
  if (!Number.isInteger(k) || k < 1 || k > maxRank)
    throw new ConfigError(`randomizedSvd: k must be in 1..${maxRank} (min(rows, cols)), got ${k}`);
  const l = Math.min(k + (options.oversamples ?? 10), maxRank);
  const rng = new Rng(options.seed ?? 0);
  const q = new Float64Array(n * l);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  const z = new Float64Array(a.cols * l);
  const w = new Float64Array(n * l);
  const apply = (src: Float64Array) => {
    sparseTransposeTimesDense(a, src, l, z);
    sparseTimesDense(a, z, l, w);
    return w;
  };
  apply(q);
  q.set(w);
  orthonormalizeColumns(q, n, l, rng);
  for (let it = 0; it < (options.powerIterations ?? 6); it++) {
    apply(q);
    q.set(w);
    orthonormalizeColumns(q, n, l, rng);
  }
  // T = Q^T (A A^T Q), symmetrised against rounding.
  apply(q);
  const t = new Float64Array(l * l);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < l; r++) {
      const qr = q[i * l + r]!;
      if (qr === 0) continue;
      for (let c = 0; c < l; c++) t[r * l + c] = t[r * l + c]! + qr * w[i * l + c]!;
    }
  for (let r = 0; r < l; r++)
    for (let c = r + 1; c < l; c++) {
      const m = (t[r * l + c]! + t[c * l + r]!) / 2;
      t[r * l + c] = m;
      t[c * l + r] = m;
    }
  // symmetricEigen's values ascend: eigenpair j of T (decreasing) is its column l - 1 - j.
  const asc = symmetricEigen(t, l);
  const eig = { values: asc.values.slice().reverse(), vectors: new Float64Array(l * l) };
  for (let r = 0; r < l; r++)
    for (let j = 0; j < l; j++) eig.vectors[r * l + j] = asc.vectors[r * l + l - 1 - j]!;
  const s = new Float64Array(k);
  const u = new Float64Array(n * k);
  for (let j = 0; j < k; j++) s[j] = Math.sqrt(Math.max(eig.values[j]!, 0));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      let acc = 0;
      for (let r = 0; r < l; r++) acc += q[i * l + r]! * eig.vectors[r * l + j]!;
      u[i * k + j] = acc;
    }
  // Residuals from W = A A^T Q: A A^T U = W E[:, :k].
  const residuals = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let sq = 0;
    for (let i = 0; i < n; i++) {
      let mu = 0;
      for (let r = 0; r < l; r++) mu += w[i * l + r]! * eig.vectors[r * l + j]!;
      sq += (mu - s[j]! ** 2 * u[i * k + j]!) ** 2;
    }
    residuals[j] = s[j]! > 0 ? Math.sqrt(sq) / s[j]! ** 2 : 0;
  }
  for (let j = 0; j < k; j++) {
    let best = 0;
    for (let i = 0; i < n; i++) if (Math.abs(u[i * k + j]!) > Math.abs(best)) best = u[i * k + j]!;
    if (best < 0) for (let i = 0; i < n; i++) u[i * k + j] = -u[i * k + j]!;
  }
  const v = sparseTransposeTimesDense(a, u, k);
  for (let f = 0; f < a.cols; f++)
    for (let j = 0; j < k; j++) v[f * k + j] = s[j]! > 0 ? v[f * k + j]! / s[j]! : 0;
  return { k, singularValues: s, u, v, relativeResiduals: residuals };
}
