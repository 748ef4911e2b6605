import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { ATTENTION_CORE, attentionCore, attentionCoreComposite } from './attention-core.js';

// The one-kernel attention against the composite (tfjs ops, what @mmesid/llama computed before) on
// random shapes with grouped-query heads and the three bias shapes the llama model builds: forward
// and the gradients in q, k and v.

const randn = (rng: Rng, shape: number[], s = 1) =>
  tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((p, n) => p * n, 1)), 0, s), shape);

/** A bias of the llama model's kind: causal over `past` cached keys and/or a padding mask. */
function biasOf(
  kind: 'causal' | 'mask' | 'both' | 'none',
  B: number,
  T: number,
  S: number,
): tf.Tensor | null {
  if (kind === 'none') return null;
  const past = S - T;
  const causal = Array.from({ length: T * S }, (_, i) => (i % S <= past + Math.floor(i / S) ? 0 : -1e9));
  const mask = Array.from({ length: B * S }, (_, i) => (i % S < (i / S) % 3 ? -1e9 : 0)); // row b pads b % 3 keys
  if (kind === 'causal') return tf.tensor(causal, [1, 1, 1, T, S]);
  if (kind === 'mask') return tf.tensor(mask, [B, 1, 1, 1, S]);
  const both = Array.from({ length: B * T * S }, (_, i) => {
    const b = Math.floor(i / (T * S));
    return Math.min(causal[i % (T * S)]!, mask[b * S + (i % S)]!);
  });
  return tf.tensor(both, [B, 1, 1, T, S]);
}

describeBackends(
  'attentionCore (one kernel each way)',
  () => {
    const cases = [
      { B: 2, H: 8, KV: 4, T: 6, S: 9, D: 8, bias: 'both' },
      { B: 1, H: 4, KV: 4, T: 5, S: 5, D: 16, bias: 'causal' },
      { B: 3, H: 6, KV: 2, T: 4, S: 7, D: 4, bias: 'mask' },
      { B: 2, H: 2, KV: 1, T: 1, S: 3, D: 8, bias: 'none' },
    ] as const;

    it('equals the composite forward', async () => {
      expect(tf.getKernel(ATTENTION_CORE, tf.getBackend())).toBeDefined();
      const rng = new Rng(41);
      for (const c of cases) {
        const q = randn(rng, [c.B, c.H, c.T, c.D]);
        const k = randn(rng, [c.B, c.KV, c.S, c.D]);
        const v = randn(rng, [c.B, c.KV, c.S, c.D]);
        const bias = biasOf(c.bias, c.B, c.T, c.S);
        const y = attentionCore(q, k, v, bias, 1 / Math.sqrt(c.D));
        const z = attentionCoreComposite(q, k, v, bias, 1 / Math.sqrt(c.D));
        expect(y.shape).toEqual([c.B, c.T, c.H * c.D]);
        expect(maxAbsDiff(await y.data(), await z.data())).toBeLessThanOrEqual(2e-6);
        tf.dispose([q, k, v, y, z, ...(bias ? [bias] : [])]);
      }
    });

    it('has the gradients of the composite in q, k and v', async () => {
      const rng = new Rng(42);
      for (const c of cases) {
        const q = randn(rng, [c.B, c.H, c.T, c.D]);
        const k = randn(rng, [c.B, c.KV, c.S, c.D]);
        const v = randn(rng, [c.B, c.KV, c.S, c.D]);
        const r = randn(rng, [c.B, c.T, c.H * c.D]);
        const bias = biasOf(c.bias, c.B, c.T, c.S);
        const loss = (op: typeof attentionCore) => (a: tf.Tensor, b: tf.Tensor, e: tf.Tensor) =>
          tf.sum(tf.mul(op(a, b, e, bias, 0.35), r));
        const got = tf.grads(loss(attentionCore))([q, k, v]);
        const want = tf.grads(loss(attentionCoreComposite))([q, k, v]);
        for (let i = 0; i < 3; i++) {
          expect(got[i]!.shape).toEqual(want[i]!.shape);
          expect(maxAbsDiff(await got[i]!.data(), await want[i]!.data())).toBeLessThanOrEqual(5e-6);
        }
        tf.dispose([q, k, v, r, ...got, ...want, ...(bias ? [bias] : [])]);
      }
    });

    it('refuses key heads that do not divide the query heads', () => {
      const q = tf.zeros([1, 3, 2, 4]);
      const k = tf.zeros([1, 2, 2, 4]);
      expect(() => attentionCore(q, k, k, null, 1)).toThrow(RangeError);
      tf.dispose([q, k]);
    });
  },
  { only: ['cpu', 'wasm'] },
);
