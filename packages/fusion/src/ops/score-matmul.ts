import { tf } from '@mmesid/tensor';

type Save = (tensors: tf.Tensor[]) => void;

const op = tf.customGrad(((u: tf.Tensor2D, mt: tf.Tensor2D, save: Save) => {
  // Intermediates are freed by tidy before backprop: the gradient reads the saved copies.
  save([u, mt]);
  return {
    value: tf.matMul(u, mt),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [su, smt] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [
        // du = dy mt^T, written without a transposed-operand matmul: (mt dy^T)^T.
        tf.transpose(tf.matMul(smt, tf.transpose(dy))),
        // dmt = u^T dy.
        tf.matMul(tf.transpose(su), dy),
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * `u @ mt` for user vectors u [B, k] against an item matrix stored transposed, mt [k, N + 1], with a
 * gradient that avoids tfjs' transposed-operand matmul (about 10x slower on WASM, and the default
 * gradient of `matMul` uses it for du). Same values and gradients as `tf.matMul(u, mt)`.
 */
export function scoreMatMul(u: tf.Tensor2D, mt: tf.Tensor2D): tf.Tensor2D {
  return op(u, mt) as tf.Tensor2D;
}
