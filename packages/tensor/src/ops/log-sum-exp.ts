import { tf } from '../tf.js';

/**
 * log(sum(exp(x))) along one axis, shifted by the maximum for stability, with its gradient written
 * directly as softmax: d/dx = exp(x - lse) * dy.
 *
 * Same values as `tf.logSumExp(x, axis)` (and as `m + log(sum(exp(x - m)))` with a
 * stop-gradient maximum m), with far fewer kernels in the backward pass: tfjs records the
 * maximum on the gradient tape (`tf.logSumExp`, or `stopGradient(tf.max(x))`, whose zero gradient
 * tfjs still pushes through Max's broadcast-Equal gradient) and back-propagates through Log, Sum,
 * Exp and Sub one by one. Here the shift is computed inside the custom gradient's forward pass, off
 * the tape, and the backward pass is one subtraction, one exp and one multiply.
 *
 * @param axis the reduced axis (negative counts from the end; default the last)
 * @param keepDims keep the reduced axis with size 1 (default false)
 * @returns a new tensor the caller owns
 * @example
 * const lse = logSumExp(scores, -1); // [B] from [B, N]
 */
export function logSumExp(x: tf.Tensor, axis = -1, keepDims = false): tf.Tensor {
  const ax = axis < 0 ? x.rank + axis : axis;
  if (!(ax >= 0 && ax < x.rank))
    throw new RangeError(`logSumExp: axis ${axis} out of range for rank ${x.rank}`);
  const keptShape = x.shape.map((d, i) => (i === ax ? 1 : d));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => i !== ax);
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const m = tf.max(input, ax, true);
    const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(input, m)), ax, true)), m);
    save([input, lse]);
    return {
      value: tf.reshape(lse, outShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, l] = saved as [tf.Tensor, tf.Tensor];
        return tf.mul(tf.exp(tf.sub(xs, l)), tf.reshape(dy, keptShape));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x);
}
