import { mmdLoss } from '@mmesid/metrics';
import { ShapeError, stopGradient, tf } from '@mmesid/tensor';

/** Options of {@link reconstructionLoss}. */
export interface ReconstructionOptions {
  /** 'mmd' (MME-SID Eq. 4) or 'mse' (TIGER). */
  kind: 'mmd' | 'mse';
  /** Gaussian bandwidth factor for 'mmd': sigma^2 = alpha * mean squared pairwise distance of the pooled batch. */
  alpha: number;
  /** MMD estimator: 'unbiased' (the gradient of tllib's MK-MMD the authors train with) or 'biased' (0 for identical samples). */
  estimator?: 'unbiased' | 'biased';
}

/**
 * The reconstruction loss between the decoded batch `xHat` and the original embeddings `x`
 * (both [B, d]). The original is a target: it gets no gradient (stop-gradient).
 *
 * - 'mse': mean over elements of (xHat - x)^2, as TIGER. It matches each item to itself.
 * - 'mmd': squared MMD between the two batches as samples, with one Gaussian kernel whose
 *   bandwidth is `alpha` times the mean squared distance of the pooled batch (tllib's
 *   `GaussianKernel(alpha=0.5)`, which the authors use). It matches the distribution of the
 *   reconstructions to that of the originals, which the paper argues keeps the distance
 *   information that a per-item MSE blurs. A batch needs at least 2 rows.
 *
 * The caller disposes the scalar.
 *
 * @see MME-SID Eq. 4
 * @example
 * const loss = reconstructionLoss(decoded, batch, { kind: 'mmd', alpha: 0.5 });
 */
export function reconstructionLoss(
  xHat: tf.Tensor2D,
  x: tf.Tensor2D,
  opts: ReconstructionOptions,
): tf.Scalar {
  if (xHat.shape.join() !== x.shape.join())
    throw new ShapeError(
      `reconstructionLoss: decoded [${xHat.shape}] and original [${x.shape}] differ in shape`,
    );
  return tf.tidy(() => {
    const target = stopGradient(x);
    if (opts.kind === 'mse') return tf.mean(tf.square(tf.sub(xHat, target))) as tf.Scalar;
    return gaussianMmd(xHat, target, opts.alpha, opts.estimator ?? 'unbiased');
  });
}

/**
 * Squared MMD between the rows of `a` and of `b` with one Gaussian kernel, bandwidth
 * sigma^2 = alpha * mean squared distance of the pooled sample (no gradient through it), as a
 * differentiable scalar; computed by `@mmesid/metrics`' `mmdLoss`.
 */
export function gaussianMmd(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  alpha: number,
  estimator: 'unbiased' | 'biased' = 'unbiased',
): tf.Scalar {
  return mmdLoss(a, b, { kernels: [{ bandwidth: 'mean', alpha }], estimator });
}
