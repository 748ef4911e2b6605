import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { scoreMatMul } from './score-matmul.js';

describeBackends('scoreMatMul', ({ tol }) => {
  it('has the values and gradients of tf.matMul(u, mt), also when its inputs are intermediates freed before backprop', async () => {
    const a = tf.tidy(() => tf.variable(tf.randomNormal([3, 5], 0, 1, 'float32', 1)));
    const b = tf.tidy(() => tf.variable(tf.randomNormal([5, 7], 0, 1, 'float32', 2)));
    const w = tf.randomNormal([3, 7], 0, 1, 'float32', 3);
    // The inputs are made inside the differentiated function, so tidy frees them before the gradient runs.
    const loss = (f: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor) => () =>
      tf.sum(tf.mul(f(tf.mul(a, 2) as tf.Tensor2D, tf.add(b, 1) as tf.Tensor2D), w)) as tf.Scalar;
    const ours = tf.variableGrads(loss(scoreMatMul), [a, b]);
    const ref = tf.variableGrads(
      loss((x, y) => tf.matMul(x, y)),
      [a, b],
    );
    expect(Math.abs((await ours.value.data())[0]! - (await ref.value.data())[0]!)).toBeLessThan(tol * 10);
    for (const v of [a, b])
      expect(maxAbsDiff(await ours.grads[v.name]!.data(), await ref.grads[v.name]!.data())).toBeLessThan(
        tol * 10,
      );
    expect(Math.max(...(await ours.grads[a.name]!.data()).map(Math.abs))).toBeGreaterThan(0.1);
    tf.dispose([a, b, w, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
  });
});
