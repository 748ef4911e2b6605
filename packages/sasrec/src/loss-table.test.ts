import type { SequenceBatch } from '@mmesid/datasets';
import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { sasrecLoss } from './loss.js';
import { SASRec } from './model.js';

const batch: SequenceBatch = {
  size: 2,
  length: 3,
  users: Int32Array.from([0, 1]),
  inputs: Int32Array.from([0, 1, 2, 3, 4, 5]),
  targets: Int32Array.from([0, 2, 3, 4, 5, 6]),
  mask: Uint8Array.from([0, 1, 1, 1, 1, 1]),
  negatives: Int32Array.from([0, 0, 5, 6, 1, 1, 2, 2, 3, 3, 1, 2]),
};

describeBackends('sasrecLoss with an external item table', ({ tol }) => {
  it('equals the loss of a model whose item_emb holds that table, for every loss, and passes gradients into it', async () => {
    for (const loss of ['bce', 'ce', 'sampled-softmax'] as const) {
      const a = new SASRec({ numItems: 6, hiddenUnits: 4, maxLen: 3 }, { seed: 21 }).eval();
      const b = new SASRec({ numItems: 6, hiddenUnits: 4, maxLen: 3 }, { seed: 21 }).eval();
      const table = tf.tidy(() => tf.add(tf.mul(a.itemEmbeddings, 1.5), 0.1) as tf.Tensor2D);
      b.itemEmbeddings.assign(table);
      const ext = sasrecLoss(a, batch, loss, table);
      const own = sasrecLoss(b, batch, loss);
      expect(Math.abs((await ext.data())[0]! - (await own.data())[0]!)).toBeLessThan(10 * tol);
      const g = tf.grad((t: tf.Tensor) => sasrecLoss(a, batch, loss, t as tf.Tensor2D))(table);
      expect(g.shape).toEqual([7, 4]);
      tf.dispose([table, ext, own, g]);
      a.dispose();
      b.dispose();
    }
  });
});
