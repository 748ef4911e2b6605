import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { logSumExp } from './log-sum-exp.js';

// Reference values in float64 in plain JS: lse_i = log sum_j exp(x_ij), d lse_i / d x_ij = softmax.
const X = [
  [1, 2, 3, -4],
  [100, 101, 99, 98], // large values: the shift matters
  [-3, -3, -3, -3],
];
const W = [0.5, -2, 1.5];

describeBackends('logSumExp', ({ tol }) => {
  it('equals log(sum(exp(x))) with the softmax gradient, in both axes and with keepDims', async () => {
    const lseRef = X.map((r) => Math.log(r.reduce((s, v) => s + Math.exp(v - 100), 0)) + 100);
    const gradRef = X.flatMap((r, i) => r.map((v) => W[i]! * Math.exp(v - lseRef[i]!)));
    const x = tf.tensor2d(X);
    const w = tf.tensor1d(W);
    const y = logSumExp(x, -1);
    expect(y.shape).toEqual([3]);
    expect(maxAbsDiff(await y.data(), lseRef)).toBeLessThan(tol * 100);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExp(t, 1), w)))(x);
    expect(maxAbsDiff(await g.data(), gradRef)).toBeLessThan(tol * 10);
    // Axis 0 through the transpose, kept dims.
    const xt = tf.transpose(x);
    const y0 = logSumExp(xt, 0, true);
    expect(y0.shape).toEqual([1, 3]);
    expect(maxAbsDiff(await y0.data(), lseRef)).toBeLessThan(tol * 100);
    const g0 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExp(t, 0, true), w)))(xt);
    const g0t = tf.transpose(g0);
    expect(maxAbsDiff(await g0t.data(), gradRef)).toBeLessThan(tol * 10);
    expect(() => logSumExp(x, 2)).toThrow(RangeError);
    tf.dispose([x, w, y, g, xt, y0, g0, g0t]);
  });

  it('runs no Max, Equal or Log kernel in the backward pass', async () => {
    const x = tf.tensor2d(X);
    const [y] = tf.tidy(() => [logSumExp(x)]);
    const prof = await tf.profile(() => {
      const g = tf.grad((t: tf.Tensor) => tf.sum(logSumExp(t)))(x);
      return g;
    });
    const names = prof.kernels.map((k) => k.name);
    // Forward: Max, Sub, Exp, Sum, Log, Add (+ Reshape); backward: Sub, Exp, Mul (+ Reshape).
    expect(names.filter((n) => n === 'Max').length).toBe(1);
    expect(names).not.toContain('Equal');
    expect(names.filter((n) => n === 'Log').length).toBe(1);
    (prof.result as tf.Tensor).dispose();
    tf.dispose([x, y!]);
  });
});
