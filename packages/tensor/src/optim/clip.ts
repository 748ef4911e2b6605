import { tf } from '../tf.js';

/**
 * Global-norm clipping as `torch.nn.utils.clip_grad_norm_`: if the L2 norm over all gradients
 * exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6). Runs on the device
 * without a read-back. Returns new gradient tensors and the norm before clipping as a scalar
 * tensor; the caller disposes them (and its inputs).
 */
export function clipGradNorm(
  grads: Map<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = tf.tidy(
    () => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as tf.Scalar,
  );
  const coef = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))));
  const out = new Map<string, tf.Tensor>();
  for (const [k, g] of grads) out.set(k, tf.mul(g, coef));
  coef.dispose();
  return { grads: out, norm };
}
