import { parseOptions } from '@mmesid/core';
import { gaussianMmdStats, hasGaussianMmdKernel, ShapeError, stopGradient, tf } from '@mmesid/tensor';
import { type MmdOptions, MmdOptionsSchema } from './options.js';

/**
 * The squared MMD between two batches of vectors (`x` [n, d], `y` [m, d]) as a differentiable
 * tfjs scalar, for use as a loss (the MM-RQ-VAE reconstruction loss: original vs reconstructed
 * embeddings). Same definition as {@link mmd} (sum of Gaussian kernels, biased by default), in
 * float32 on the active backend. Gradients flow to `x` and `y` through the kernel values; a
 * data-driven bandwidth (`mean` / `median` heuristic) is computed from the detached distances, as
 * tllib does.
 *
 * Builds the (n + m)^2 pairwise squared distances with the norm expansion
 * ||a||^2 + ||b||^2 - 2 a.b (clamped at 0, diagonal set to exactly 0), so memory is O((n + m)^2).
 * The median heuristic runs `tf.topk` over those (n + m)^2 values: fine for a few thousand rows,
 * costly beyond. With a heuristic bandwidth, if more than half of the pairwise distances are 0
 * (the median is 0) or all are 0 (the mean is 0) the kernel degenerates (NaN); the JS {@link mmd}
 * throws in that case.
 *
 * On cpu and wasm, unless a kernel uses the median heuristic, the pairs run in one host kernel
 * (`gaussianMmdStats` of @mmesid/tensor) after one Gram matmul, with the gradient as one more
 * matmul: the composite's value and gradients up to float32 rounding (its sums run in float64).
 *
 * Returns a new scalar the caller disposes (or that an enclosing `tf.tidy` / `variableGrads`
 * collects); intermediate tensors are released.
 *
 * @see Gretton et al. (2012), "A Kernel Two-Sample Test", JMLR 13
 * @see MME-SID MM-RQ-VAE: MMD as the reconstruction loss
 * @example
 * const loss = tf.tidy(() => mmdLoss(batchEmb, decoder.forward(codes), { kernels: [{ bandwidth: 'mean' }] }));
 */
export function mmdLoss(x: tf.Tensor, y: tf.Tensor, options?: MmdOptions): tf.Scalar {
  const opts = parseOptions(MmdOptionsSchema, options, 'mmdLoss');
  if (x.rank !== 2 || y.rank !== 2 || x.shape[1] !== y.shape[1]) {
    throw new ShapeError(
      `mmdLoss: x and y must be [n, d] and [m, d] with the same d, got [${x.shape}] and [${y.shape}]`,
    );
  }
  const n = x.shape[0]!;
  const m = y.shape[0]!;
  const minRows = opts.estimator === 'unbiased' ? 2 : 1;
  if (n < minRows || m < minRows) {
    throw new ShapeError(
      `mmdLoss: the ${opts.estimator} estimator needs at least ${minRows} rows per sample, got ${n} and ${m}`,
    );
  }
  const total = n + m;
  if (opts.kernels.some((k) => 'bandwidth' in k && k.bandwidth === 'median') && total < 2) {
    throw new ShapeError('mmdLoss: the median heuristic needs at least 2 points in total');
  }
  if (hasGaussianMmdKernel() && opts.kernels.every((k) => !('bandwidth' in k) || k.bandwidth === 'mean')) {
    return fusedMmdLoss(x as tf.Tensor2D, y as tf.Tensor2D, opts);
  }
  return tf.tidy(() => {
    const z = tf.concat([x, y], 0);
    const sq = tf.reshape(tf.sum(tf.square(z), 1), [total, 1]);
    const one = tf.ones([total, 1]);
    // ||z_i||^2 + ||z_j||^2 - 2 z_i.z_j as one product [z, |z|^2, 1] [-2z, 1, |z|^2]^T: tfjs's
    // broadcasting add of [N, 1] and [1, N] is far slower than a matMul on cpu and wasm.
    const left = tf.concat([z, sq, one], 1);
    const right = tf.concat([tf.mul(z, -2), one, sq], 1);
    const offDiagonal = tf.sub(1, tf.eye(total));
    const d2 = tf.mul(tf.relu(tf.matMul(left, right, false, true)), offDiagonal);
    const detached = stopGradient(d2);
    let meanD2: tf.Tensor | null = null;
    let medianD2: tf.Tensor | null = null;
    let kernelSum: tf.Tensor | null = null;
    for (const k of opts.kernels) {
      let sigma2: tf.Tensor | number;
      if ('sigma' in k) sigma2 = k.sigma * k.sigma;
      else if (k.bandwidth === 'mean') {
        meanD2 ??= tf.mean(detached);
        sigma2 = tf.mul(meanD2, k.alpha);
      } else {
        medianD2 ??= offDiagonalMedian(detached, total);
        sigma2 = tf.mul(medianD2, k.alpha);
      }
      const kv = tf.exp(tf.mul(d2, tf.div(-0.5, sigma2)));
      kernelSum = kernelSum ? tf.add(kernelSum, kv) : kv;
    }
    // Block sums as a quadratic form: S = E^T K E with E = [1_x, 1_y] (N x 2), so
    // S00 = sum Kxx, S11 = sum Kyy, S01 = S10 = sum Kxy, without slicing the N x N matrix.
    const indicator = new Float32Array(total * 2);
    for (let i = 0; i < total; i++) indicator[i * 2 + (i < n ? 0 : 1)] = 1;
    const e = tf.tensor2d(indicator, [total, 2]);
    const blocks = tf.matMul(tf.transpose(e), tf.matMul(kernelSum!, e));
    const [sxx, sxy, syx, syy] = tf.split(tf.reshape(blocks, [4]), 4);
    const cross = tf.mul(tf.add(sxy!, syx!), 1 / (n * m));
    if (opts.estimator === 'biased') {
      return tf.reshape(tf.sub(tf.add(tf.div(sxx!, n * n), tf.div(syy!, m * m)), cross), []) as tf.Scalar;
    }
    // The diagonal of every kernel is exactly exp(0) = 1, so the i = j terms sum to n per kernel.
    const K = opts.kernels.length;
    const xx = tf.div(tf.sub(sxx!, n * K), n * (n - 1));
    const yy = tf.div(tf.sub(syy!, m * K), m * (m - 1));
    return tf.reshape(tf.sub(tf.add(xx, yy), cross), []) as tf.Scalar;
  });
}

/**
 * numpy's median of the distinct-pair squared distances, from the symmetric matrix with a zero
 * diagonal: the 2P off-diagonal values hold each of the P pairs twice, and the mean of their
 * sorted entries P - 1 and P equals the median of the P distinct values.
 */
function offDiagonalMedian(d2: tf.Tensor, total: number): tf.Tensor {
  const pairs = (total * (total - 1)) / 2;
  const masked = tf.where(
    tf.cast(tf.eye(total), 'bool'),
    tf.fill([total, total], Number.POSITIVE_INFINITY),
    d2,
  );
  const smallest = tf.neg(tf.topk(tf.neg(tf.reshape(masked, [total * total])), pairs + 1, true).values);
  return tf.mean(tf.slice(smallest, [pairs - 1], [2]));
}

/**
 * {@link mmdLoss} on cpu and wasm without median bandwidths: the Gram matrix z z^T (one matmul),
 * then one host kernel (`gaussianMmdStats` of @mmesid/tensor: distances, bandwidths, kernel sums,
 * the loss and dloss/dd2 in one pass over the pairs) instead of ~15 kernels over [T, T] forward and
 * as many backward; the gradient is 4 (rowSum * z - w z), one more matmul. Same value and gradient
 * as the composite up to float32 rounding (the sums run in float64).
 */
function fusedMmdLoss(
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  opts: ReturnType<typeof MmdOptionsSchema.parse>,
): tf.Scalar {
  const n = x.shape[0];
  const m = y.shape[0];
  const attrs = {
    n,
    alphas: opts.kernels.flatMap((k) => ('bandwidth' in k ? [k.alpha] : [])),
    sigma2s: opts.kernels.flatMap((k) => ('sigma' in k ? [k.sigma * k.sigma] : [])),
    estimator: opts.estimator,
  };
  const op = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const [z, loss, w, rowSum] = tf.tidy(() => {
      const pooled = tf.concat([a, b], 0) as tf.Tensor2D;
      const sq = tf.sum(tf.square(pooled), 1) as tf.Tensor1D;
      const s = gaussianMmdStats(tf.matMul(pooled, pooled, false, true) as tf.Tensor2D, sq, attrs);
      return [pooled, s.loss, s.w, s.rowSum] as const;
    });
    save([z, w, rowSum]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, ws, rs] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const total = n + m;
        const dz = tf.mul(tf.sub(tf.mul(tf.reshape(rs, [total, 1]), zs), tf.matMul(ws, zs)), tf.mul(dy, 4));
        return [tf.slice(dz, [0, 0], [n, -1]), tf.slice(dz, [n, 0], [m, -1])];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, y) as tf.Scalar;
}
