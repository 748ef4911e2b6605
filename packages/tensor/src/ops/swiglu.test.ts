import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { SWIGLU, swiglu, swigluComposite } from './swiglu.js';

// The one-pass SwiGLU kernels against the composite (tfjs ops) on random shapes, forward and both
// gradients, and against float64 values written here.

const randn = (rng: Rng, n: number, s: number) => rng.fillNormal(new Float32Array(n), 0, s);

describeBackends(
  'swiglu (one-pass kernels)',
  () => {
    const shapes = [
      [5, 172],
      [2, 7, 172],
      [3, 1, 4, 9],
    ];

    it('equals the composite and float64 values', async () => {
      expect(tf.getKernel(SWIGLU, tf.getBackend())).toBeDefined();
      const rng = new Rng(31);
      for (const shape of shapes) {
        const n = shape.reduce((p, k) => p * k, 1);
        const gv = randn(rng, n, 3);
        const uv = randn(rng, n, 1);
        const g = tf.tensor(gv, shape);
        const u = tf.tensor(uv, shape);
        const y = swiglu(g, u);
        const z = swigluComposite(g, u);
        const got = await y.data();
        const ref = Array.from(gv, (x, i) => (x / (1 + Math.exp(-x))) * uv[i]!);
        expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-6 * 10);
        expect(maxAbsDiff(got, await z.data())).toBeLessThanOrEqual(1e-5);
        tf.dispose([g, u, y, z]);
      }
    });

    it('has the gradients of the composite in g and u', async () => {
      const rng = new Rng(32);
      for (const shape of shapes) {
        const n = shape.reduce((p, k) => p * k, 1);
        const g = tf.tensor(randn(rng, n, 3), shape);
        const u = tf.tensor(randn(rng, n, 1), shape);
        const r = tf.tensor(randn(rng, n, 1), shape);
        const loss = (op: typeof swiglu) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), r));
        const got = tf.grads(loss(swiglu))([g, u]);
        const want = tf.grads(loss(swigluComposite))([g, u]);
        for (let i = 0; i < 2; i++)
          expect(maxAbsDiff(await got[i]!.data(), await want[i]!.data())).toBeLessThanOrEqual(2e-5);
        tf.dispose([g, u, r, ...got, ...want]);
      }
    });

    it('refuses operands of different shapes', () => {
      const g = tf.zeros([2, 4]);
      const u = tf.zeros([2, 5]);
      expect(() => swiglu(g, u)).toThrow(RangeError);
      tf.dispose([g, u]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
