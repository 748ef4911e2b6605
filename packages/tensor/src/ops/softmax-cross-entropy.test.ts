import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import {
  registerSoftmaxCrossEntropy,
  SOFTMAX_CROSS_ENTROPY,
  softmaxCrossEntropy,
  softmaxCrossEntropyComposite,
  softmaxCrossEntropySimd,
} from './softmax-cross-entropy.js';

// On wasm the kernels are the WebAssembly SIMD module (simd/softmax-cross-entropy.wat, a polynomial
// exp) working on the heap; the test registers them for wasm whatever initBackend does.
registerSoftmaxCrossEntropy(['cpu', 'wasm']);

// The one-kernel softmax cross-entropy against the composite (logSumExp minus a gather) and against
// float64 values written here (log-sum-exp; gradient softmax - onehot), forward and gradient.

const randn = (rng: Rng, n: number, s: number) => rng.fillNormal(new Float32Array(n), 0, s);

/** Float64 reference: per-row loss and d(sum_r c_r loss_r)/dx. */
function reference(x: Float32Array, n: number, C: number, t: number[], c: ArrayLike<number>) {
  const loss: number[] = [];
  const grad = new Float64Array(n * C);
  for (let r = 0; r < n; r++) {
    const row = Array.from(x.subarray(r * C, (r + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    loss.push(lse - row[t[r]!]!);
    for (let i = 0; i < C; i++) grad[r * C + i] = c[r]! * (Math.exp(row[i]! - lse) - (i === t[r] ? 1 : 0));
  }
  return { loss, grad };
}

describeBackends(
  'softmaxCrossEntropy (one-kernel loss)',
  () => {
    const shapes: Array<[number, number]> = [
      [7, 301],
      [1, 5],
      [4, 2000],
      [3, 64], // whole f32x4 blocks only
    ];

    it('runs the SIMD module on wasm', () => {
      if (tf.getBackend() === 'wasm') expect(softmaxCrossEntropySimd(tf.backend())).not.toBeNull();
    });

    it('has the float64 softmax to a few float32 ulps over the whole exp range', async () => {
      // One row: 0 (the maximum) and 4,001 values spread over [-90, 0], so exp(x - m) runs over
      // every exponent down to below the smallest normal float (-87.3: there 0, as the reference
      // rounds to within 1e-38). The gradient of loss_0 is softmax - onehot; checked relatively.
      const C = 4002;
      const xv = Float32Array.from({ length: C }, (_, i) =>
        i === 0 ? 0 : (-90 * ((i * 2654435761) % 4001)) / 4000,
      );
      const x = tf.tensor2d(xv, [1, C]);
      const gt = tf.grad((a: tf.Tensor) => tf.sum(softmaxCrossEntropy(a as tf.Tensor2D, [0])))(x);
      const got = await gt.data();
      const want = reference(xv, 1, C, [0], [1]).grad;
      let worst = 0;
      for (let i = 1; i < C; i++)
        if (want[i]! > 1.2e-38) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / want[i]!);
        else expect(Math.abs(got[i]!)).toBeLessThanOrEqual(1.2e-38);
      expect(worst).toBeLessThanOrEqual(4e-7); // ~3 ulp (measured: wasm 1.6e-7, cpu 1.0e-7)
      expect(Math.abs(got[0]! - want[0]!)).toBeLessThanOrEqual(1e-6);
      tf.dispose([x, gt]);
    });

    it('equals float64 values and the composite', async () => {
      expect(tf.getKernel(SOFTMAX_CROSS_ENTROPY, tf.getBackend())).toBeDefined();
      const rng = new Rng(51);
      for (const [n, C] of shapes) {
        const xv = randn(rng, n * C, 4);
        const t = Array.from({ length: n }, (_, r) => (r * 7919 + 3) % C);
        const x = tf.tensor2d(xv, [n, C]);
        const got = softmaxCrossEntropy(x, t);
        const tt = tf.tensor1d(t, 'int32');
        const comp = softmaxCrossEntropyComposite(x, tt);
        expect(got.shape).toEqual([n]);
        const g = await got.data();
        expect(maxAbsDiff(g, reference(xv, n, C, t, new Float64Array(n)).loss)).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(g, await comp.data())).toBeLessThanOrEqual(2e-5);
        // Large shifts: the row maximum keeps exp in range.
        const big = tf.add(x, 1e3) as tf.Tensor2D;
        const lb = softmaxCrossEntropy(big, Int32Array.from(t));
        expect(maxAbsDiff(await lb.data(), g)).toBeLessThanOrEqual(2e-4);
        tf.dispose([x, tt, got, comp, big, lb]);
      }
    });

    it('has the gradient of the composite and softmax - onehot', async () => {
      const rng = new Rng(52);
      for (const [n, C] of shapes) {
        const xv = randn(rng, n * C, 4);
        const cv = randn(rng, n, 1);
        const t = Array.from({ length: n }, (_, r) => (r * 104729 + 11) % C);
        const x = tf.tensor2d(xv, [n, C]);
        const c = tf.tensor1d(cv);
        const tt = tf.tensor1d(t, 'int32');
        const got = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(softmaxCrossEntropy(a as tf.Tensor2D, tt), c)))(
          x,
        );
        const want = tf.grad((a: tf.Tensor) =>
          tf.sum(tf.mul(softmaxCrossEntropyComposite(a as tf.Tensor2D, tt), c)),
        )(x);
        const g = await got.data();
        expect(maxAbsDiff(g, await want.data())).toBeLessThanOrEqual(1e-6);
        expect(maxAbsDiff(g, reference(xv, n, C, t, cv).grad)).toBeLessThanOrEqual(1e-6);
        tf.dispose([x, c, tt, got, want]);
      }
    });

    it('refuses targets outside the row and mismatched counts', () => {
      const x = tf.zeros([2, 3]) as tf.Tensor2D;
      expect(() => softmaxCrossEntropy(x, [0, 3])).toThrow(RangeError);
      expect(() => softmaxCrossEntropy(x, [0, -1])).toThrow(RangeError);
      expect(() => softmaxCrossEntropy(x, [0])).toThrow(RangeError);
      const bad = tf.tensor1d([1, 5], 'int32');
      expect(() => softmaxCrossEntropy(x, bad)).toThrow(RangeError);
      tf.dispose([x, bad]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
