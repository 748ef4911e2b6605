import { Rng } from '@mmesid/core';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { countAtLeast } from './count-at-least.js';

describeBackends('countAtLeast', () => {
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
});
