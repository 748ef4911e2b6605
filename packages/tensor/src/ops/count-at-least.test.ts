import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { countAtLeast, countAtLeastSimd } from './count-at-least.js';

describeBackends('countAtLeast', ({ backend }) => {
  it('counts the entries >= each row threshold (ties count, NaN never), as a JS loop does', async () => {
    const rng = new Rng(11);
    const rows = 7;
    const cols = 300;
    const x = new Float32Array(rows * cols);
    // Few distinct values, so ties are common.
    for (let i = 0; i < x.length; i++) x[i] = rng.int(20) / 4;
    x[5] = Number.NaN;
    const t = Float32Array.from({ length: rows }, (_, r) => x[r * cols + r]!);
    t[0] = 2.5;
    const want = Array.from({ length: rows }, (_, r) => {
      let c = 0;
      for (let j = 0; j < cols; j++) if (x[r * cols + j]! >= t[r]!) c++;
      return c;
    });
    const xt = tf.tensor2d(x, [rows, cols]);
    const tt = tf.tensor1d(t);
    const got = countAtLeast(xt, tt);
    expect(got.dtype).toBe('int32');
    expect(Array.from(await got.data())).toEqual(want);
    const short = tf.tensor1d([1]);
    expect(() => countAtLeast(xt, short)).toThrow(RangeError);
    tf.dispose([xt, tt, got, short]);
  });

  it('widths around its 8-column step, infinities, signed zeros and an empty batch', async () => {
    if (backend === 'wasm') expect(countAtLeastSimd(tf.backend())).not.toBeNull();
    const rng = new Rng(12);
    // Empty tensors only where the kernel runs (tfjs-backend-webgpu cannot allocate a 0-byte buffer).
    const empties = backend === 'cpu' || backend === 'wasm';
    for (const cols of [...(empties ? [0] : []), 1, 3, 7, 8, 9, 16, 17, 12088]) {
      const rows = 5;
      const x = new Float32Array(rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = rng.int(9) - 4;
      if (cols > 2) {
        x[0] = Number.POSITIVE_INFINITY;
        x[1] = Number.NEGATIVE_INFINITY;
        x[2] = -0;
      }
      const t = Float32Array.of(0, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 1, -2);
      const want = Array.from({ length: rows }, (_, r) => {
        let c = 0;
        for (let j = 0; j < cols; j++) if (x[r * cols + j]! >= t[r]!) c++;
        return c;
      });
      const xt = tf.tensor2d(x, [rows, cols]);
      const tt = tf.tensor1d(t);
      const got = countAtLeast(xt, tt);
      expect(Array.from(await got.data()), `cols ${cols}`).toEqual(want);
      tf.dispose([xt, tt, got]);
    }
    if (!empties) return;
    const ex = tf.zeros([0, 4]) as tf.Tensor2D;
    const et = tf.zeros([0]) as tf.Tensor1D;
    const empty = countAtLeast(ex, et);
    expect(empty.shape).toEqual([0]);
    tf.dispose([ex, et, empty]);
  });
});
