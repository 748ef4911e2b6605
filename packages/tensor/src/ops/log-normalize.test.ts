import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { LOG_NORMALIZE, logNormalize, logNormalizeComposite } from './log-normalize.js';

/** x - (logsumexp(x, axis) + offset) in float64. */
function reference(x: Float32Array, rows: number, cols: number, axis: 0 | 1, offset: number): Float64Array {
  const out = new Float64Array(rows * cols);
  const outer = axis === 1 ? rows : cols;
  const inner = axis === 1 ? cols : rows;
  const at = (o: number, i: number) => (axis === 1 ? o * cols + i : i * cols + o);
  for (let o = 0; o < outer; o++) {
    let mx = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < inner; i++) mx = Math.max(mx, x[at(o, i)]!);
    let s = 0;
    for (let i = 0; i < inner; i++) s += Math.exp(x[at(o, i)]! - mx);
    for (let i = 0; i < inner; i++) out[at(o, i)] = x[at(o, i)]! - (mx + Math.log(s) + offset);
  }
  return out;
}

describeBackends('logNormalize', ({ backend }) => {
  it('equals the composite and a float64 reference on random shapes, both axes, wide ranges', async () => {
    const rng = new Rng(5);
    for (const [rows, cols, scale] of [
      [1, 1, 1],
      [3, 7, 1],
      [64, 17, 30],
      [100, 256, 333], // Sinkhorn's range: distances in [-1, 1] over epsilon 0.003
    ] as const) {
      const x = Float32Array.from({ length: rows * cols }, () => (rng.float() * 2 - 1) * scale);
      const xt = tf.tensor2d(x, [rows, cols]);
      try {
        for (const axis of [0, 1] as const) {
          const offset = Math.log(axis === 0 ? cols : rows);
          const fast = logNormalize(xt, axis, offset);
          const slow = logNormalizeComposite(xt, axis, offset);
          const [a, b] = [await fast.data(), await slow.data()];
          tf.dispose([fast, slow]);
          const want = reference(x, rows, cols, axis, offset);
          // float32 rounding of the shift (up to ~scale + log C in magnitude) and of x - shift.
          const tol = 2e-7 * (2 * scale + 10);
          let toRef = 0;
          let toComposite = 0;
          for (let i = 0; i < a.length; i++) {
            toRef = Math.max(toRef, Math.abs(a[i]! - want[i]!));
            toComposite = Math.max(toComposite, Math.abs(a[i]! - b[i]!));
          }
          expect(toRef).toBeLessThanOrEqual(tol);
          expect(toComposite).toBeLessThanOrEqual(2 * tol);
        }
      } finally {
        xt.dispose();
      }
    }
  });

  it('runs as one kernel on cpu and wasm and refuses other ranks', async () => {
    const x = tf.zeros([2, 3]) as tf.Tensor2D;
    const prof = await tf.profile(() => {
      logNormalize(x, 1, 0).dispose();
      return [];
    });
    if (backend === 'cpu' || backend === 'wasm')
      expect(prof.kernels.map((k) => k.name)).toEqual([LOG_NORMALIZE]);
    else expect(prof.kernels.length).toBeGreaterThan(1);
    const v = tf.zeros([3]);
    expect(() => logNormalize(v as unknown as tf.Tensor2D, 0)).toThrow(RangeError);
    tf.dispose([x, v]);
  });
});
