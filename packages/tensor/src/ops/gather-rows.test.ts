import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tf } from '../tf.js';
import { gatherRows } from './gather-rows.js';

describeBackends('gatherRows', ({ tol }) => {
  it('equals tf.gather in values and in the table gradient, duplicates summed', async () => {
    const rng = new Rng(3);
    const table = tf.tensor2d(rng.fillNormal(new Float32Array(24)), [6, 4]);
    const ids = tf.tensor1d([5, 0, 2, 2, 5, 5], 'int32');
    const w = tf.tensor2d(rng.fillNormal(new Float32Array(24)), [6, 4]);
    const ours = gatherRows(table, ids);
    const ref = tf.gather(table, ids);
    expect(Array.from(await ours.data())).toEqual(Array.from(await ref.data()));
    const g1 = tf.grad((t) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), w)))(table);
    const g2 = tf.grad((t) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table);
    expect(maxAbsDiff(await g1.data(), await g2.data())).toBeLessThan(tol);
    // Row 5 is gathered three times: its gradient is the sum of three rows of w.
    const wr = (await w.array()) as number[][];
    const g = (await g1.array()) as number[][];
    expect(
      maxAbsDiff(
        g[5]!,
        [0, 1, 2, 3].map((c) => wr[0]![c]! + wr[4]![c]! + wr[5]![c]!),
      ),
    ).toBeLessThan(tol);
    expect(g[1]).toEqual([0, 0, 0, 0]);
    tf.dispose([table, ids, w, ours, ref, g1, g2]);
  });
});
