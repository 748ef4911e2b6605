import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from './tf.js';

describeBackends('the shared tfjs instance', () => {
  it('has gradients for every op and working chained methods, including clone (the Cast gradient)', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.cast(a, 'float32'), a.reshape([3]))))(x);
    expect(Array.from(await g.data())).toEqual([2, 4, 6]);
    const c = x.clone();
    expect(Array.from(await c.data())).toEqual([1, 2, 3]);
    tf.dispose([x, g, c]);
  });
});
