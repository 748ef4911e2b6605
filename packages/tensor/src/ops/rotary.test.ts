import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { ROTARY_HALF, rotaryHalf, rotaryHalfComposite } from './rotary.js';

// The one-pass rotate-half RoPE kernel against the composite (tfjs ops) on random shapes: the same
// bits forward, and the composite's gradient in x, cos and sin.

const randn = (rng: Rng, n: number) => rng.fillNormal(new Float32Array(n), 0, 1);
const size = (s: number[]) => s.reduce((p, k) => p * k, 1);

describeBackends(
  'rotaryHalf (one-pass kernel)',
  () => {
    const cases: [number[], number[]][] = [
      [
        [2, 8, 6, 8],
        [2, 6, 8],
      ],
      [
        [3, 4, 7, 8],
        [1, 7, 8],
      ], // one table row set for the whole batch
      [
        [1, 2, 3, 16],
        [1, 3, 16],
      ],
    ];

    it('has the bits of the composite forward', async () => {
      expect(tf.getKernel(ROTARY_HALF, tf.getBackend())).toBeDefined();
      const rng = new Rng(8);
      for (const [xs, cs] of cases) {
        const x = tf.tensor(randn(rng, size(xs)), xs);
        const c = tf.tensor(randn(rng, size(cs)), cs);
        const s = tf.tensor(randn(rng, size(cs)), cs);
        const y = rotaryHalf(x, c, s);
        const z = rotaryHalfComposite(x, c, s);
        expect(y.shape).toEqual(xs);
        expect(Array.from(await y.data())).toEqual(Array.from(await z.data()));
        tf.dispose([x, c, s, y, z]);
      }
    });

    it('has the gradients of the composite in x, cos and sin', async () => {
      const rng = new Rng(9);
      for (const [xs, cs] of cases) {
        const x = tf.tensor(randn(rng, size(xs)), xs);
        const c = tf.tensor(randn(rng, size(cs)), cs);
        const s = tf.tensor(randn(rng, size(cs)), cs);
        const r = tf.tensor(randn(rng, size(xs)), xs);
        const loss = (op: typeof rotaryHalf) => (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) =>
          tf.sum(tf.mul(op(a, b, e), r));
        const got = tf.grads(loss(rotaryHalf))([x, c, s]);
        const want = tf.grads(loss(rotaryHalfComposite))([x, c, s]);
        // In x the kernel sums the same two float32 products as the composite's backward: same bits.
        expect(Array.from(await got[0]!.data())).toEqual(Array.from(await want[0]!.data()));
        for (let i = 1; i < 3; i++)
          expect(maxAbsDiff(await got[i]!.data(), await want[i]!.data())).toBeLessThanOrEqual(1e-5);
        tf.dispose([x, c, s, r, ...got, ...want]);
      }
    });

    it('refuses tables that do not fit x', () => {
      const x = tf.zeros([2, 4, 3, 8]);
      const c = tf.zeros([2, 3, 6]);
      expect(() => rotaryHalf(x, c, c)).toThrow(RangeError);
      tf.dispose([x, c]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
