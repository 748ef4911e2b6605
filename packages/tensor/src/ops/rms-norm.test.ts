import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { RMS_NORM, rmsNorm, rmsNormComposite } from './rms-norm.js';

// The one-pass RMSNorm kernels against the composite (tfjs ops) on random shapes, forward and both
// gradients, and against a float64 reference written here.

const randn = (rng: Rng, n: number, s = 1) => rng.fillNormal(new Float32Array(n), 0, s);

/** float64 reference of y = x r w per row. */
function reference(x: Float32Array, w: Float32Array, d: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]! * x[o + j]!;
    const r = 1 / Math.sqrt(s / d + eps);
    for (let j = 0; j < d; j++) y[o + j] = x[o + j]! * r * w[j]!;
  }
  return y;
}

describeBackends(
  'rmsNorm (one-pass kernels)',
  () => {
    it('runs as one kernel and equals the composite and a float64 reference', async () => {
      expect(tf.getKernel(RMS_NORM, tf.getBackend())).toBeDefined();
      const rng = new Rng(3);
      for (const shape of [
        [5, 64],
        [2, 7, 64],
        [3, 1, 9, 13],
        [1, 1],
      ]) {
        const d = shape[shape.length - 1]!;
        const n = shape.reduce((p, k) => p * k, 1);
        const xv = randn(rng, n, 2);
        const wv = randn(rng, d);
        const x = tf.tensor(xv, shape);
        const w = tf.tensor1d(wv);
        const y = rmsNorm(x, w, 1e-5);
        const c = rmsNormComposite(x, w, 1e-5);
        expect(y.shape).toEqual(shape);
        const got = await y.data();
        const ref = reference(xv, wv, d, 1e-5);
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(4e-7 * scale);
        expect(maxAbsDiff(got, await c.data())).toBeLessThanOrEqual(1e-6 * scale);
        tf.dispose([x, w, y, c]);
      }
    });

    it('has the gradients of the composite in x and w', async () => {
      const rng = new Rng(4);
      for (const shape of [
        [6, 64],
        [2, 5, 172],
        [4, 3],
      ]) {
        const d = shape[shape.length - 1]!;
        const n = shape.reduce((p, k) => p * k, 1);
        const x = tf.tensor(randn(rng, n, 1.5), shape);
        const w = tf.tensor1d(randn(rng, d));
        const r = tf.tensor(randn(rng, n), shape);
        const loss = (op: typeof rmsNorm) => (a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(op(a, b, 1e-6), r));
        const [gx, gw] = tf.grads(loss(rmsNorm))([x, w]);
        const [cx, cw] = tf.grads(loss(rmsNormComposite))([x, w]);
        for (const [a, b] of [
          [gx!, cx!],
          [gw!, cw!],
        ] as const) {
          const bv = await b.data();
          const scale = Array.from(bv as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(maxAbsDiff(await a.data(), bv)).toBeLessThanOrEqual(2e-6 * scale);
        }
        tf.dispose([x, w, r, gx!, gw!, cx!, cw!]);
      }
    });

    it('refuses a weight that does not match the last axis', () => {
      const x = tf.zeros([2, 4]);
      const w = tf.ones([3]);
      expect(() => rmsNorm(x, w, 1e-5)).toThrow(RangeError);
      tf.dispose([x, w]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
