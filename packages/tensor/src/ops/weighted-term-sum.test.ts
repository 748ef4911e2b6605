import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import {
  registerWeightedTermSum,
  WEIGHTED_TERM_SUM,
  weightedTermSum,
  weightedTermSumComposite,
  weightedTermSumSimd,
} from './weighted-term-sum.js';

// The one-kernel weighted term sum against the composite (Slice, Multiply, Add per term, tfjs's
// gradients; written out again here as the reference) on random shapes, forward and the gradients
// in every term and in the weights, and against float64 sums.
// On wasm the kernels are the WebAssembly SIMD module (simd/weighted-term-sum.wat) working on the
// heap; the test registers them for wasm whatever initBackend does.
registerWeightedTermSum(['cpu', 'wasm']);

/** The composite as the score head wrote it (tfjs's own gradients through Slice, Reshape, Multiply, Add): the reference. */
function plain(terms: readonly tf.Tensor2D[], w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let s: tf.Tensor | null = null;
    terms.forEach((t, j) => {
      const term = tf.mul(t, tf.reshape(tf.slice(w, [0, j], [-1, 1]), [1, -1]));
      s = s ? tf.add(s, term) : term;
    });
    return s! as tf.Tensor2D;
  });
}

const randn = (rng: Rng, n: number, s: number) => rng.fillNormal(new Float32Array(n), 0, s);

describeBackends(
  'weightedTermSum (one-kernel score fusion)',
  () => {
    const shapes: Array<[number, number, number]> = [
      [5, 37, 4], // B, N, J
      [1, 12, 1],
      [3, 101, 2],
      [6, 64, 4], // whole f32x4 blocks only
      [4, 259, 3],
    ];

    it('runs the SIMD module on wasm', () => {
      if (tf.getBackend() === 'wasm') expect(weightedTermSumSimd(tf.backend())).not.toBeNull();
    });

    it('has the composite bits and the float64 sum', async () => {
      expect(tf.getKernel(WEIGHTED_TERM_SUM, tf.getBackend())).toBeDefined();
      const rng = new Rng(41);
      for (const [B, N, J] of shapes) {
        const tv = Array.from({ length: J }, () => randn(rng, B * N, 2));
        const wv = randn(rng, N * J, 1);
        const terms = tv.map((v) => tf.tensor2d(v, [B, N]));
        const w = tf.tensor2d(wv, [N, J]);
        const s = weightedTermSum(terms, w);
        const c = weightedTermSumComposite(terms, w);
        const p = plain(terms, w);
        expect(s.shape).toEqual([B, N]);
        const got = await s.data();
        expect(maxAbsDiff(got, await c.data())).toBe(0);
        expect(maxAbsDiff(got, await p.data())).toBe(0);
        const ref = Array.from({ length: B * N }, (_, k) => {
          const i = k % N;
          let acc = 0;
          for (let j = 0; j < J; j++) acc += tv[j]![k]! * wv[i * J + j]!;
          return acc;
        });
        expect(maxAbsDiff(got, ref)).toBeLessThanOrEqual(1e-5);
        tf.dispose([...terms, w, s, c, p]);
      }
    });

    it('has the gradients of the plain composite in the terms and the weights (kernel and composite)', async () => {
      const rng = new Rng(42);
      for (const [B, N, J] of shapes) {
        const terms = Array.from({ length: J }, () => tf.tensor2d(randn(rng, B * N, 2), [B, N]));
        const w = tf.tensor2d(randn(rng, N * J, 1), [N, J]);
        const r = tf.tensor2d(randn(rng, B * N, 1), [B, N]);
        const loss =
          (op: typeof weightedTermSum) =>
          (...xs: tf.Tensor[]) =>
            tf.sum(tf.mul(op(xs.slice(1) as tf.Tensor2D[], xs[0] as tf.Tensor2D), r));
        const want = tf.grads(loss(plain))([w, ...terms]);
        const comp = tf.grads(loss(weightedTermSumComposite))([w, ...terms]);
        const got = tf.grads(loss(weightedTermSum))([w, ...terms]);
        // The terms' gradients are single products (same bits); dw sums B products.
        for (const g of [got, comp])
          for (let k = 0; k <= J; k++) {
            expect(g[k]!.shape).toEqual(want[k]!.shape);
            expect(maxAbsDiff(await g[k]!.data(), await want[k]!.data())).toBeLessThanOrEqual(
              k === 0 ? 1e-5 : 0,
            );
          }
        // The SIMD kernel sums dw in float32 in row order, as tfjs-wasm's Sum does: the same bits.
        if (tf.getBackend() === 'wasm')
          expect(maxAbsDiff(await got[0]!.data(), await want[0]!.data())).toBe(0);
        // Closed form: dw[i, j] = sum_b r[b, i] t_j[b, i].
        const rv = await r.data();
        const tvs = await Promise.all(terms.map((t) => t.data()));
        const dw = Array.from({ length: N * J }, (_, k) => {
          const i = Math.floor(k / J);
          const j = k % J;
          let acc = 0;
          for (let b = 0; b < B; b++) acc += rv[b * N + i]! * tvs[j]![b * N + i]!;
          return acc;
        });
        expect(maxAbsDiff(await got[0]!.data(), dw)).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(await comp[0]!.data(), dw)).toBeLessThanOrEqual(1e-5);
        tf.dispose([...terms, w, r, ...got, ...want, ...comp]);
      }
    });

    it('refuses terms and weights that do not match', () => {
      const t = tf.zeros([2, 5]) as tf.Tensor2D;
      const u = tf.zeros([2, 4]) as tf.Tensor2D;
      const w = tf.zeros([5, 2]) as tf.Tensor2D;
      expect(() => weightedTermSum([t], w)).toThrow(RangeError);
      expect(() => weightedTermSum([t, u], w)).toThrow(RangeError);
      expect(() => weightedTermSum([], w)).toThrow(RangeError);
      tf.dispose([t, u, w]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
