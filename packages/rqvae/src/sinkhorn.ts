import { ShapeError, sinkhornArgMax, tf } from '@mmesid/tensor';

/** Options of {@link sinkhornAssign}. */
export interface SinkhornOptions {
  /** Entropic regularisation epsilon; smaller is closer to a hard balanced assignment. Authors: 0.003. */
  epsilon: number;
  /** Sinkhorn-Knopp iterations. Authors: 50. */
  iters?: number;
}

/**
 * Balanced assignment of B points to K codes from their distance matrix [B, K] by Sinkhorn-Knopp
 * (Cuturi 2013; used on the last RQ level by LC-Rec and MME-SID to reduce collisions): the
 * transport plan Q = exp(-d / epsilon) is scaled alternately so that every code receives B/K of
 * the mass and every point 1/B, then each point takes its largest entry.
 *
 * As in the authors' code the distances are first mapped to [-1, 1] (centre and amplitude of the
 * batch), so epsilon is relative to the batch's spread. With epsilon = 0.003, exp(-d / epsilon)
 * spans e^{+-333}, beyond float32, so this never forms exp(-d / epsilon) in float32: see
 * `sinkhornArgMax` of @mmesid/tensor (float64 scalings stabilised in the log domain on cpu and
 * wasm, float32 log-sum-exp normalisations elsewhere; the two agree up to float32 near-ties).
 *
 * Not differentiable (it returns indices). The caller disposes the int32 [B] result.
 *
 * @example
 * const codes = sinkhornAssign(squaredDistances(residual, codebook), { epsilon: 0.003, iters: 50 });
 */
export function sinkhornAssign(distances: tf.Tensor2D, opts: SinkhornOptions): tf.Tensor1D {
  if (distances.rank !== 2)
    throw new ShapeError(`sinkhornAssign: expected a [B, K] distance matrix, got shape [${distances.shape}]`);
  if (!(opts.epsilon > 0)) throw new ShapeError(`sinkhornAssign: epsilon must be > 0, got ${opts.epsilon}`);
  const iters = opts.iters ?? 50;
  return tf.tidy(() => {
    const d = centerDistances(distances);
    // Columns (codes) to mass 1/K, then rows (points) to 1/B, `iters` times, then each row's
    // largest entry: one host kernel in float64 on cpu and wasm (scalings with absorption into
    // log potentials, no exponential per entry and iteration), float32 logNormalize steps elsewhere.
    return sinkhornArgMax(tf.div(d, -opts.epsilon) as tf.Tensor2D, iters);
  });
}

/** (d - middle) / amplitude with middle and amplitude of the whole matrix, so values lie in [-1, 1]. */
function centerDistances(d: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const max = tf.max(d);
    const min = tf.min(d);
    const middle = tf.div(tf.add(max, min), 2);
    const amplitude = tf.add(tf.sub(max, middle), 1e-5);
    return tf.div(tf.sub(d, middle), amplitude) as tf.Tensor2D;
  });
}
