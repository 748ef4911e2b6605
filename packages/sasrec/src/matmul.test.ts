import { Linear, Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { linear, matMul2d } from './matmul.js';

describeBackends('matMul2d and linear', ({ tol }) => {
  it('match tf.matMul and Linear.forward, values and gradients', async () => {
    const rng = new Rng(7);
    const a = tf.tensor2d(rng.fillNormal(new Float32Array(15)), [5, 3]);
    const b = tf.tensor2d(rng.fillNormal(new Float32Array(12)), [3, 4]);
    const ours = tf.grads((x, y) => tf.sum(tf.square(matMul2d(x as tf.Tensor2D, y as tf.Tensor2D))));
    const ref = tf.grads((x, y) => tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D))));
    const [ga, gb] = ours([a, b]);
    const [ra, rb] = ref([a, b]);
    expect(maxAbsDiff(await ga!.data(), await ra!.data())).toBeLessThan(tol * 10);
    expect(maxAbsDiff(await gb!.data(), await rb!.data())).toBeLessThan(tol * 10);
    const y = matMul2d(a, b);
    const r = tf.matMul(a, b);
    expect(maxAbsDiff(await y.data(), await r.data())).toBeLessThan(tol);
    const lin = new Linear(3, 2, { rng });
    const x = tf.tensor3d(rng.fillNormal(new Float32Array(12)), [2, 2, 3]);
    const l1 = linear(x, lin);
    const l2 = lin.forward(x);
    expect(l1.shape).toEqual([2, 2, 2]);
    expect(maxAbsDiff(await l1.data(), await l2.data())).toBeLessThan(tol);
    tf.dispose([a, b, ga!, gb!, ra!, rb!, y, r, x, l1, l2]);
    lin.dispose();
  });
});
