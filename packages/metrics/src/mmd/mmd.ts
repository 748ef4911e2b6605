import { parseOptions } from '@mmesid/core';
import { ShapeError } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';
import { checkTable, type EmbeddingTable } from '../table.js';
import { type MmdOptions, MmdOptionsSchema } from './options.js';

/** The result of {@link mmd}. */
export interface MmdResult {
  /** The squared MMD estimate. */
  readonly mmd2: number;
  /** sigma^2 of each kernel as used (fixed or from the heuristic), in the order given. */
  readonly sigma2: readonly number[];
  readonly estimator: 'biased' | 'unbiased';
}

/**
 * The squared maximum mean discrepancy between two samples (rows of `x` and of `y`) with a sum of
 * Gaussian kernels, in float64 JS, for reports. Biased (default):
 *
 *   MMD^2_b = 1/n^2 sum_ij k(x_i, x_j) + 1/m^2 sum_ij k(y_i, y_j) - 2/(n m) sum_ij k(x_i, y_j)
 *
 * and unbiased (the i = j terms left out of the first two sums, divided by n(n-1) and m(m-1)).
 * MMD^2_b of a sample with itself is exactly 0. Squared distances are computed from differences
 * (not the norm expansion), so they are exact to float64 rounding. O((n + m)^2 d) time; the median
 * heuristic also keeps the (n + m)(n + m - 1)/2 distances in memory.
 *
 * Use {@link mmdLoss} for a differentiable tensor version (the same formula in float32).
 *
 * @see Gretton et al. (2012), "A Kernel Two-Sample Test", JMLR 13: MMD^2_u and MMD^2_b
 * @see MME-SID Eq. 4 (MMD as the MM-RQ-VAE's reconstruction loss)
 * @example
 * const { mmd2 } = mmd(original, reconstructed, { kernels: [{ bandwidth: 'median' }] });
 */
export function mmd(x: EmbeddingTable, y: EmbeddingTable, options?: MmdOptions): MmdResult {
  const opts = parseOptions(MmdOptionsSchema, options, 'mmd');
  checkTable(x, 'mmd: x');
  checkTable(y, 'mmd: y');
  if (x.cols !== y.cols) throw new ShapeError(`mmd: x has ${x.cols} columns but y has ${y.cols}`);
  const n = x.rows;
  const m = y.rows;
  const minRows = opts.estimator === 'unbiased' ? 2 : 1;
  if (n < minRows || m < minRows) {
    throw new ShapeError(
      `mmd: the ${opts.estimator} estimator needs at least ${minRows} rows per sample, got ${n} and ${m}`,
    );
  }
  const d = x.cols;
  const total = n + m;
  const row = (i: number): [Float32Array, number] => (i < n ? [x.data, i * d] : [y.data, (i - n) * d]);
  for (const [name, t] of [
    ['x', x],
    ['y', y],
  ] as const) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]!)) {
        throw new MetricsInputError(`mmd: ${name} row ${Math.floor(i / d)} column ${i % d} is ${t.data[i]}`);
      }
    }
  }
  const dist2 = (i: number, j: number): number => {
    const [a, ao] = row(i);
    const [b, bo] = row(j);
    let s = 0;
    for (let c = 0; c < d; c++) {
      const t = a[ao + c]! - b[bo + c]!;
      s += t * t;
    }
    return s;
  };

  const needMedian = opts.kernels.some((k) => 'bandwidth' in k && k.bandwidth === 'median');
  const needMean = opts.kernels.some((k) => 'bandwidth' in k && k.bandwidth === 'mean');
  let stored: Float64Array | null = null;
  let meanD2 = 0;
  if (needMedian || needMean) {
    stored = needMedian ? new Float64Array((total * (total - 1)) / 2) : null;
    let sum = 0;
    let p = 0;
    for (let i = 0; i < total; i++) {
      for (let j = i + 1; j < total; j++) {
        const v = dist2(i, j);
        sum += v;
        if (stored) stored[p++] = v;
      }
    }
    meanD2 = (2 * sum) / (total * total);
  }
  let medianD2 = 0;
  if (stored) medianD2 = median(stored.slice());
  const sigma2 = opts.kernels.map((k, idx) => {
    const s2 = 'sigma' in k ? k.sigma * k.sigma : k.alpha * (k.bandwidth === 'mean' ? meanD2 : medianD2);
    if (!(s2 > 0)) {
      throw new MetricsInputError(
        `mmd: kernel ${idx} has bandwidth sigma^2 = ${s2} (${'sigma' in k ? 'fixed' : `${k.bandwidth} squared distance is 0`}); the samples need distinct points`,
      );
    }
    return s2;
  });
  const inv = sigma2.map((s) => -1 / (2 * s));
  const kernel = (v: number): number => {
    let s = 0;
    for (const c of inv) s += Math.exp(v * c);
    return s;
  };

  // Off-diagonal sums over i < j within each sample, and the full cross sum.
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let p = 0;
  for (let i = 0; i < total; i++) {
    for (let j = i + 1; j < total; j++) {
      const k = kernel(stored ? stored[p++]! : dist2(i, j));
      if (j < n) sxx += k;
      else if (i >= n) syy += k;
      else sxy += k;
    }
  }
  const K = opts.kernels.length; // k(a, a) = 1 per kernel
  let mmd2: number;
  if (opts.estimator === 'biased') {
    mmd2 = (2 * sxx + n * K) / (n * n) + (2 * syy + m * K) / (m * m) - (2 * sxy) / (n * m);
  } else {
    mmd2 = (2 * sxx) / (n * (n - 1)) + (2 * syy) / (m * (m - 1)) - (2 * sxy) / (n * m);
  }
  return { mmd2, sigma2, estimator: opts.estimator };
}

/** numpy's median (mean of the two middle values for an even count). Sorts `a` in place. */
function median(a: Float64Array): number {
  a.sort();
  const h = a.length >> 1;
  return a.length % 2 === 1 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
}
