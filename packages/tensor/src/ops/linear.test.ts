import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { LINEAR, linear, linearComposite } from './linear.js';

// The one-kernel x W^T against the composite (reshape, matMul, reshape) on random shapes, forward
// and both gradients, and against a float64 product written here.

const randn = (rng: Rng, n: number) => rng.fillNormal(new Float32Array(n), 0, 1);
const size = (s: number[]) => s.reduce((p, k) => p * k, 1);

describeBackends(
  'linear (one kernel each way)',
  () => {
    const cases: [number[], number][] = [
      [[7, 64], 172],
      [[3, 5, 64], 8],
      [[2, 3, 4, 13], 9],
      [[1, 1, 172], 64],
    ];

    it('equals the composite and a float64 product', async () => {
      expect(tf.getKernel(LINEAR, tf.getBackend())).toBeDefined();
      const rng = new Rng(21);
      for (const [xs, out] of cases) {
        const inF = xs[xs.length - 1]!;
        const xv = randn(rng, size(xs));
        const wv = randn(rng, out * inF);
        const x = tf.tensor(xv, xs);
        const w = tf.tensor2d(wv, [out, inF]);
        const y = linear(x, w);
        const z = linearComposite(x, w);
        expect(y.shape).toEqual([...xs.slice(0, -1), out]);
        const got = await y.data();
        expect(Array.from(got)).toEqual(Array.from(await z.data()));
        const ref = new Float64Array(got.length);
        for (let r = 0; r < got.length / out; r++)
          for (let o = 0; o < out; o++) {
            let s = 0;
            for (let k = 0; k < inF; k++) s += xv[r * inF + k]! * wv[o * inF + k]!;
            ref[r * out + o] = s;
          }
        expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-4 * Math.sqrt(inF));
        tf.dispose([x, w, y, z]);
      }
    });

    it('has the gradients of the composite in x and W', async () => {
      const rng = new Rng(22);
      for (const [xs, out] of cases) {
        const inF = xs[xs.length - 1]!;
        const x = tf.tensor(randn(rng, size(xs)), xs);
        const w = tf.tensor2d(randn(rng, out * inF), [out, inF]);
        const r = tf.tensor(randn(rng, (size(xs) / inF) * out), [...xs.slice(0, -1), out]);
        const loss = (op: typeof linear) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(op(a, b), r));
        const got = tf.grads(loss(linear))([x, w]);
        const want = tf.grads(loss(linearComposite))([x, w]);
        for (let i = 0; i < 2; i++) {
          expect(got[i]!.shape).toEqual(want[i]!.shape);
          expect(maxAbsDiff(await got[i]!.data(), await want[i]!.data())).toBeLessThanOrEqual(1e-5);
        }
        tf.dispose([x, w, r, ...got, ...want]);
      }
    });

    it('refuses a weight of the wrong width', () => {
      const x = tf.zeros([2, 4]);
      const w = tf.zeros([3, 5]);
      expect(() => linear(x, w)).toThrow(RangeError);
      tf.dispose([x, w]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
