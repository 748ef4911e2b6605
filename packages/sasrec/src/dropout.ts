import { type Rng, tf } from '@mmesid/tensor';

/**
 * Inverted dropout whose mask comes from `rng` (a seed per call), so a training run is
 * reproducible from its seed. The identity when `p` is 0 or `rng` is null (evaluation).
 * Returns a new tensor (or `x` itself when it is the identity); call it inside `tf.tidy`.
 */
export function seededDropout(x: tf.Tensor, p: number, rng: Rng | null): tf.Tensor {
  if (rng === null || p === 0) return x;
  return tf.dropout(x, p, undefined, rng.seed());
}
