// tfjs-backend-wasm 4.22 multiplies a transposed operand (transposeA/transposeB flags) 10-25x more
// slowly than it transposes it first and multiplies plainly (measured here: 512^3 with transposeA
// 759 ms vs 30 ms). tfjs's own matMul gradient uses those flags, so every Linear backward pays it.
// This module gives a matMul that transposes explicitly on WASM and re-registers the BatchMatMul
// gradient with it. It imports tfjs-core directly (not ../tf.js) because tf.ts loads it.
import * as tf from '@tensorflow/tfjs-core';

function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  perm[n - 1] = n - 2;
  perm[n - 2] = n - 1;
  return tf.transpose(x, perm);
}

/**
 * `tf.matMul` with the same semantics, faster on the WASM backend: transposed operands are
 * materialised first there. Other backends get `tf.matMul` unchanged. Returns a new tensor.
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if ((!transposeA && !transposeB) || tf.getBackend() !== 'wasm')
    return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b));
}

// The gradient of BatchMatMul, as tfjs-core defines it, routed through the matMul above.
tf.registerGradient({
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const g = dy as tf.Tensor;
    if (!transposeA && !transposeB)
      return { a: () => matMul(g, b, false, true), b: () => matMul(a, g, true, false) };
    if (!transposeA && transposeB)
      return { a: () => matMul(g, b, false, false), b: () => matMul(g, a, true, false) };
    if (transposeA && !transposeB)
      return { a: () => matMul(b, g, false, true), b: () => matMul(a, g, false, false) };
    return { a: () => matMul(b, g, true, true), b: () => matMul(g, a, true, true) };
  },
});
