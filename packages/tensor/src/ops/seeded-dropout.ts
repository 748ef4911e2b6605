import type { Rng } from '@mmesid/core';
import { tf } from '../tf.js';

/**
 * Inverted dropout whose mask is drawn on the host from `rng` (kept units scaled by 1/(1-p)), so a
 * training run is reproducible from its seed on every backend. One upload and one multiply (its
 * gradient is the same multiply), where `tf.dropout` runs a seeded uniform generator and four ops.
 * The identity when `p` is 0 or `rng` is null (evaluation). The caller owns the result.
 */
export function seededDropout(x: tf.Tensor, p: number, rng: Rng | null): tf.Tensor {
  if (rng === null || p === 0) return x;
  const keep = 1 - p;
  const scale = 1 / keep;
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.float() < keep ? scale : 0;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)));
}
