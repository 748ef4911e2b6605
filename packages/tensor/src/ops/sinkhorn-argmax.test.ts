import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { SINKHORN_ARGMAX, sinkhornArgMax, sinkhornArgMaxComposite } from './sinkhorn-argmax.js';

/** Plain log-domain Sinkhorn in float64 (a full log-sum-exp per column and row and iteration): the final log plan. */
function reference(x: Float32Array, rows: number, cols: number, iters: number): Float64Array {
  const q = Float64Array.from(x);
  for (let it = 0; it < iters; it++) {
    for (let j = 0; j < cols; j++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rows; i++) mx = Math.max(mx, q[i * cols + j]!);
      let s = 0;
      for (let i = 0; i < rows; i++) s += Math.exp(q[i * cols + j]! - mx);
      const shift = mx + Math.log(s) + Math.log(cols);
      for (let i = 0; i < rows; i++) q[i * cols + j] = q[i * cols + j]! - shift;
    }
    for (let i = 0; i < rows; i++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < cols; j++) mx = Math.max(mx, q[i * cols + j]!);
      let s = 0;
      for (let j = 0; j < cols; j++) s += Math.exp(q[i * cols + j]! - mx);
      const shift = mx + Math.log(s) + Math.log(rows);
      for (let j = 0; j < cols; j++) q[i * cols + j] = q[i * cols + j]! - shift;
    }
  }
  return q;
}

/** For each row, how far (in log plan units) the chosen entry lies below the row's best. */
function shortfall(q: Float64Array, rows: number, cols: number, index: ArrayLike<number>): number[] {
  return Array.from({ length: rows }, (_, i) => {
    let mx = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, q[i * cols + j]!);
    return mx - q[i * cols + index[i]!]!;
  });
}

describeBackends('sinkhornArgMax', ({ backend }) => {
  it('picks the largest entry of the float64 log-domain plan, and agrees with the float32 composite up to its rounding', async () => {
    const rng = new Rng(31);
    for (const [rows, cols, scale, iters] of [
      [1, 1, 1, 3],
      [7, 3, 1, 0],
      [64, 16, 30, 10],
      [300, 64, 333, 50], // Sinkhorn's range in MME-SID: distances in [-1, 1] over epsilon 0.003
      [50, 8, 3000, 20], // beyond exp's float64 range: the absorption path
    ] as const) {
      const x = Float32Array.from({ length: rows * cols }, () => (rng.float() * 2 - 1) * scale);
      const xt = tf.tensor2d(x, [rows, cols]);
      const fast = sinkhornArgMax(xt, iters);
      const slow = sinkhornArgMaxComposite(xt, iters);
      const [a, b] = [await fast.data(), await slow.data()];
      expect(fast.dtype).toBe('int32');
      tf.dispose([xt, fast, slow]);
      const q = reference(x, rows, cols, iters);
      const fastGap = shortfall(q, rows, cols, a);
      const slowGap = shortfall(q, rows, cols, b);
      // float64 on cpu/wasm; float32 (the composite) on other backends.
      const exact = backend === 'cpu' || backend === 'wasm';
      expect(Math.max(...fastGap), `[${rows}, ${cols}] x ${scale}`).toBeLessThanOrEqual(
        exact ? 1e-9 * scale : 1e-2,
      );
      // The composite is right up to float32 rounding of log-plan values of size ~scale.
      expect(Math.max(...slowGap)).toBeLessThanOrEqual(2e-5 * (scale + 10) * Math.sqrt(2 * iters + 1));
      let differ = 0;
      for (let i = 0; i < rows; i++) if (a[i] !== b[i]) differ++;
      expect(differ, 'rows where the kernel and the composite differ').toBeLessThanOrEqual(
        Math.ceil(rows * 0.02),
      );
    }
  });

  it('balances a skewed assignment: every code gets about B/K rows where nearest-code would not', async () => {
    // 64 points, 4 codes; code 0 is nearest for most points.
    const rng = new Rng(7);
    const rows = 64;
    const cols = 4;
    const d = Float32Array.from(
      { length: rows * cols },
      (_, i) => (i % cols === 0 ? 0 : 0.5) + rng.float() * 0.3,
    );
    const xt = tf.tidy(() => tf.div(tf.tensor2d(d, [rows, cols]), -0.01) as tf.Tensor2D);
    const codes = sinkhornArgMax(xt, 200);
    const nearest = tf.argMax(xt, 1);
    const counts = new Array(cols).fill(0);
    for (const c of await codes.data()) counts[c]++;
    const nearestToZero = Array.from(await nearest.data()).filter((c) => c === 0).length;
    tf.dispose([xt, codes, nearest]);
    expect(nearestToZero).toBeGreaterThan(rows / 2);
    // The argmax of a balanced plan is balanced up to rows whose plan is split between codes.
    for (const c of counts) expect(Math.abs(c - rows / cols)).toBeLessThanOrEqual(2);
  });

  it('runs as one kernel on cpu and wasm and checks its arguments', async () => {
    const x = tf.zeros([2, 3]) as tf.Tensor2D;
    const prof = await tf.profile(() => {
      sinkhornArgMax(x, 5).dispose();
      return [];
    });
    if (backend === 'cpu' || backend === 'wasm')
      expect(prof.kernels.map((k) => k.name)).toEqual([SINKHORN_ARGMAX]);
    expect(() => sinkhornArgMax(x, -1)).toThrow(RangeError);
    x.dispose();
  });
});
