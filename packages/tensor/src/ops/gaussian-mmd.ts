import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/** tfjs kernel name of {@link gaussianMmdStats}' host kernel (registered for cpu and wasm). */
export const GAUSSIAN_MMD = 'MmesidGaussianMmd';

/** Attributes of {@link gaussianMmdStats}. */
export interface GaussianMmdAttrs {
  /** Rows of the first sample: rows 0..n-1 of the pooled sample are x, the rest y. */
  n: number;
  /** Kernels with sigma^2 = alpha * mean squared distance over all ordered pairs, the zero diagonal included. */
  alphas: number[];
  /** Kernels with a fixed sigma^2. */
  sigma2s: number[];
  /** `unbiased` (no i = j terms) or `biased` (V-statistic). */
  estimator: 'biased' | 'unbiased';
}

/**
 * The MMD of a pooled sample from its Gram matrix g [T, T] and squared norms sq [T]: squared
 * distances relu(sq_i + sq_j - 2 g_ij) off the diagonal (0 on it, read from the upper triangle so
 * both orders are the same), the bandwidths, the kernel block sums (float64) and the loss, and
 * w_ij = dLoss/dd2_ij (0 on the diagonal and where the relu is inactive) with its row sums.
 */
function stats(
  g: ArrayLike<number>,
  sq: ArrayLike<number>,
  t: number,
  a: GaussianMmdAttrs,
  w: Float32Array,
  rowSum: Float64Array,
): number {
  const f = Math.fround;
  const n = a.n;
  const m = t - n;
  let total = 0;
  for (let i = 0; i < t; i++) {
    const si = sq[i]!;
    for (let j = i + 1; j < t; j++) {
      let d = f(f(si + sq[j]!) - 2 * g[i * t + j]!);
      if (!(d > 0)) d = 0;
      w[i * t + j] = d;
      total += d;
    }
  }
  const mean = (2 * total) / (t * t);
  const scales = [...a.alphas.map((al) => f(al * f(mean))), ...a.sigma2s].map((s2) => f(-0.5 / s2));
  const kernels = scales.length;
  const unbiased = a.estimator === 'unbiased';
  const cxx = unbiased ? 1 / (n * (n - 1)) : 1 / (n * n);
  const cyy = unbiased ? 1 / (m * (m - 1)) : 1 / (m * m);
  const cxy = -1 / (n * m);
  // The diagonal: exp(0) = 1 per kernel, in the biased estimator only.
  let loss = unbiased ? 0 : kernels * (n * cxx + m * cyy);
  rowSum.fill(0);
  for (let i = 0; i < t; i++) {
    w[i * t + i] = 0;
    for (let j = i + 1; j < t; j++) {
      const c = i < n ? (j < n ? cxx : cxy) : cyy;
      const d = w[i * t + j]!;
      let kv = 0;
      let dk = 0;
      for (let k = 0; k < kernels; k++) {
        const e = Math.exp(f(d * scales[k]!));
        kv += e;
        dk += e * scales[k]!;
      }
      loss += 2 * c * kv;
      const wij = d > 0 ? c * dk : 0;
      w[i * t + j] = wij;
      w[j * t + i] = wij;
      rowSum[i] = rowSum[i]! + wij;
      rowSum[j] = rowSum[j]! + wij;
    }
  }
  return loss;
}

/**
 * Registers the kernel of {@link gaussianMmdStats} for the cpu and wasm backends. Called by
 * `initBackend`; safe to call more than once.
 */
export function registerGaussianMmd(): void {
  registerHostKernel<GaussianMmdAttrs>(GAUSSIAN_MMD, {
    outputs: ({ g }) => {
      const t = g!.shape[0]!;
      return [
        { shape: [], dtype: 'float32' },
        { shape: [t, t], dtype: 'float32' },
        { shape: [t], dtype: 'float32' },
      ];
    },
    run: ({ g, sq }, { g: gi }, attrs, [loss, w, rowSum]) => {
      const t = gi!.shape[0]!;
      const rows = new Float64Array(t);
      loss![0] = stats(g!, sq!, t, attrs, w as Float32Array, rows);
      rowSum!.set(rows);
    },
  });
}

/** Whether {@link gaussianMmdStats} runs as one kernel on the active backend (cpu, wasm). */
export function hasGaussianMmdKernel(): boolean {
  return tf.getKernel(GAUSSIAN_MMD, tf.getBackend()) !== undefined;
}

/**
 * One pass of a Gaussian-kernel MMD over the pooled sample z = [x; y] (T = n + m rows) given its
 * Gram matrix `g` = z z^T [T, T] and squared row norms `sq` [T]: the squared distances
 * relu(sq_i + sq_j - 2 g_ij) (zero diagonal), the bandwidths (`alphas` times their mean over all
 * T^2 ordered pairs, or fixed `sigma2s`), the sum of the kernels and the MMD estimate `loss` (a
 * float32 scalar; sums in float64), and for the gradient `w` [T, T] = dloss/dd2 (symmetric, 0 on
 * the diagonal and where the relu is inactive) with its row sums `rowSum` [T]. The gradient of the
 * loss with respect to z is then 4 (rowSum * z - w z), one matmul (the bandwidths held constant).
 *
 * Only where {@link hasGaussianMmdKernel} (cpu and wasm; host JS over the backend's buffers,
 * exponentials of each unordered pair once); `@mmesid/metrics`' `mmdLoss` uses it and falls back to
 * its composite elsewhere. Not differentiable itself. The caller owns the three results.
 */
export function gaussianMmdStats(
  g: tf.Tensor2D,
  sq: tf.Tensor1D,
  attrs: GaussianMmdAttrs,
): { loss: tf.Scalar; w: tf.Tensor2D; rowSum: tf.Tensor1D } {
  const t = g.shape[0];
  if (g.rank !== 2 || g.shape[1] !== t || sq.rank !== 1 || sq.shape[0] !== t)
    throw new RangeError(
      `gaussianMmdStats: expected g [T, T] and sq [T], got [${g.shape}] and [${sq.shape}]`,
    );
  if (g.dtype !== 'float32' || sq.dtype !== 'float32')
    throw new RangeError(`gaussianMmdStats: inputs must be float32, got ${g.dtype} and ${sq.dtype}`);
  const minRows = attrs.estimator === 'unbiased' ? 2 : 1;
  if (!Number.isInteger(attrs.n) || attrs.n < minRows || t - attrs.n < minRows)
    throw new RangeError(
      `gaussianMmdStats: n = ${attrs.n} of ${t} rows leaves a sample too small for ${attrs.estimator}`,
    );
  if (attrs.alphas.length + attrs.sigma2s.length === 0)
    throw new RangeError('gaussianMmdStats: no kernel (alphas and sigma2s both empty)');
  if (!hasGaussianMmdKernel())
    throw new RangeError(`gaussianMmdStats: no ${GAUSSIAN_MMD} kernel on the ${tf.getBackend()} backend`);
  const [loss, w, rowSum] = tf
    .engine()
    .runKernel(GAUSSIAN_MMD, { g, sq }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { loss: loss as tf.Scalar, w: w as tf.Tensor2D, rowSum: rowSum as tf.Tensor1D };
}
