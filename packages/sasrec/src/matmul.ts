import { type Linear, tf } from '@mmesid/tensor';

// The gradient of tf.matMul is itself a matMul with transposeA or transposeB set. On
// tfjs-backend-wasm (4.22) only the plain 2-D product a @ b goes through XNNPACK; with either
// transpose flag it falls back to a naive loop that is 4-8x slower (measured: 6400x64 @ 64x64
// takes 3.6 ms plain, 25 ms with transposeB). Transposing explicitly first is cheap, so this
// product and its gradient only ever call the fast path.
const plainMatMul = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: (t: tf.Tensor[]) => void) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
  a: tf.Tensor2D,
  b: tf.Tensor2D,
) => tf.Tensor2D;

/**
 * `a @ b` for 2-D tensors, with a gradient made of plain (untransposed) products: the same
 * numbers as `tf.matMul(a, b)`, several times faster to train on WASM. Returns a new tensor.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return plainMatMul(a, b);
}

/**
 * `x W^T + b` of a `Linear` (weight [out, in]) over any leading dimensions, through
 * {@link matMul2d}. Same result as `layer.forward(x)`; use it on hot paths.
 */
export function linear(x: tf.Tensor, layer: Linear): tf.Tensor {
  return tf.tidy(() => {
    const lead = x.shape.slice(0, -1);
    const x2 = x.reshape([-1, layer.inFeatures]) as tf.Tensor2D;
    let y: tf.Tensor = matMul2d(x2, tf.transpose(layer.weight) as tf.Tensor2D);
    if (layer.bias) y = tf.add(y, layer.bias);
    return y.reshape([...lead, layer.outFeatures]);
  });
}
