import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import {
  ADAMW_UPDATE,
  type AdamWUpdateAttrs,
  adamwUpdate,
  adamwUpdateComposite,
  adamwUpdateSimd,
} from './adamw-update.js';

/** The update in float64 (PyTorch's formula), for an independent check of both ways. */
function reference(
  p: number,
  m: number,
  v: number,
  g: number,
  a: AdamWUpdateAttrs,
): [number, number, number] {
  const m2 = a.beta1 * m + (1 - a.beta1) * g;
  const v2 = a.beta2 * v + (1 - a.beta2) * g * g;
  const p2 = p * (1 - a.lrDecay) - (a.stepSize * m2) / (Math.sqrt(v2) / a.sqrtBc2 + a.eps);
  return [p2, m2, v2];
}

describeBackends('adamwUpdate', ({ backend }) => {
  it('equals the composite (same bits) and PyTorch formula in float64 on random shapes', async () => {
    const rng = new Rng(7);
    const shapes = [[1], [17], [5, 3], [64, 65], [2, 3, 4, 5]];
    for (const [i, shape] of shapes.entries()) {
      const n = shape.reduce((x, y) => x * y, 1);
      const rand = (scale: number, positive = false) =>
        Float32Array.from({ length: n }, () => (positive ? Math.abs(rng.normal()) : rng.normal()) * scale);
      const p = tf.tensor(rand(1), shape);
      const m = tf.tensor(rand(0.1), shape);
      const v = tf.tensor(rand(0.01, true), shape);
      const g = tf.tensor(rand(0.5), shape);
      const t = 1 + i * 3;
      const attrs: AdamWUpdateAttrs = {
        beta1: 0.9,
        beta2: i % 2 ? 0.98 : 0.999,
        eps: 1e-8,
        lrDecay: i % 2 ? 0 : 1e-3 * 0.01,
        stepSize: 1e-3 / (1 - 0.9 ** t),
        sqrtBc2: Math.sqrt(1 - 0.999 ** t),
      };
      const fast = adamwUpdate(p, m, v, g, attrs);
      const slow = adamwUpdateComposite(p, m, v, g, attrs);
      const [pv, mv, vv, gv] = await Promise.all([p.data(), m.data(), v.data(), g.data()]);
      for (let k = 0; k < 3; k++) {
        expect(fast[k]!.shape).toEqual(shape);
        const a = await fast[k]!.data();
        const b = await slow[k]!.data();
        // Same float32 operations in the same order: equal bits where the kernel runs (cpu, wasm);
        // elsewhere fast is the composite itself.
        let differ = 0;
        let worst = 0;
        for (let j = 0; j < n; j++) {
          if (a[j] !== b[j]) differ++;
          const want = reference(pv[j]!, mv[j]!, vv[j]!, gv[j]!, attrs)[k]!;
          worst = Math.max(worst, Math.abs(a[j]! - want) / Math.max(1, Math.abs(want)));
        }
        expect(differ).toBe(0);
        expect(worst).toBeLessThanOrEqual(1e-6);
      }
      tf.dispose([p, m, v, g, ...fast, ...slow]);
    }
  });

  it('runs as one kernel on cpu and wasm (the SIMD module on wasm)', async () => {
    if (backend === 'wasm') expect(adamwUpdateSimd(tf.backend())).not.toBeNull();
    const p = tf.zeros([4, 4]);
    const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, lrDecay: 0, stepSize: 0.01, sqrtBc2: 0.5 };
    const prof = await tf.profile(() => {
      const out = adamwUpdate(p, p, p, p, attrs);
      tf.dispose(out);
      return [];
    });
    if (backend === 'cpu' || backend === 'wasm') {
      expect(prof.kernels.map((k) => k.name)).toEqual([ADAMW_UPDATE]);
    } else {
      expect(prof.kernels.length).toBeGreaterThan(1);
    }
    const wrong = tf.zeros([3]);
    expect(() => adamwUpdate(p, p, p, wrong, attrs)).toThrow(RangeError);
    tf.dispose([p, wrong]);
  });
});
