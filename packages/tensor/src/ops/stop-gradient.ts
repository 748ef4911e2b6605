import { tf } from '../tf.js';

const stop = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * The identity in the forward pass, a zero gradient in the backward pass (PyTorch `.detach()`,
 * JAX `stop_gradient`). tfjs has no such op; the straight-through estimator of a quantiser
 * (`x + stopGradient(q - x)`) and a stop-gradient target are built on it. Returns a new tensor.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stop(x) as T;
}
