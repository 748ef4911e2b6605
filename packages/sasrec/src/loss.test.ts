import type { SequenceBatch } from '@mmesid/datasets';
import { ConfigError, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { positionTargets, sasrecLoss } from './loss.js';
import { SASRec } from './model.js';

// Two users, width 3, left-padded: user 0 has positions at columns 1, 2; user 1 at 0, 1, 2.
const batch: SequenceBatch = {
  size: 2,
  length: 3,
  users: Int32Array.from([0, 1]),
  inputs: Int32Array.from([0, 1, 2, 3, 4, 5]),
  targets: Int32Array.from([0, 2, 3, 4, 5, 6]),
  mask: Uint8Array.from([0, 1, 1, 1, 1, 1]),
  negatives: Int32Array.from([0, 0, 5, 6, 1, 1, 2, 2, 3, 3, 1, 2]), // 2 per position
};

const softplus = (z: number) => Math.log1p(Math.exp(z));

/** Hidden states and the item table read back, for computing the losses by hand. */
async function parts(model: SASRec): Promise<{ h: number[][]; table: number[][] }> {
  const ids = tf.tensor2d(batch.inputs, [2, 3], 'int32');
  const hid = model.forward(ids);
  const h = ((await hid.array()) as number[][][]).flat();
  const table = (await model.itemEmbeddings.array()) as number[][];
  tf.dispose([ids, hid]);
  return { h, table };
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

describeBackends('sasrecLoss', ({ tol }) => {
  it('picks the positions that hold a target, with their positives and negatives', () => {
    const t = positionTargets(batch);
    expect(Array.from(t.positions)).toEqual([1, 2, 3, 4, 5]);
    expect(Array.from(t.positives)).toEqual([2, 3, 4, 5, 6]);
    expect(t.negativesPerPosition).toBe(2);
    expect(Array.from(t.negatives)).toEqual([5, 6, 1, 1, 2, 2, 3, 3, 1, 2]);
  });

  it('computes BCE, sampled softmax and full cross-entropy as their formulas', async () => {
    const model = new SASRec({ numItems: 6, hiddenUnits: 4, maxLen: 3 }, { seed: 11 }).eval();
    const { h, table } = await parts(model);
    const t = positionTargets(batch);
    let bce = 0;
    let ssm = 0;
    let ce = 0;
    for (let j = 0; j < t.positions.length; j++) {
      const hj = h[t.positions[j]!]!;
      const pos = dot(hj, table[t.positives[j]!]!);
      const negs = [0, 1].map((m) => dot(hj, table[t.negatives[j * 2 + m]!]!));
      bce += softplus(-pos) + negs.reduce((s, z) => s + softplus(z), 0);
      ssm += Math.log([pos, ...negs].reduce((s, z) => s + Math.exp(z), 0)) - pos;
      const all = table.slice(1).map((row) => dot(hj, row));
      ce += Math.log(all.reduce((s, z) => s + Math.exp(z), 0)) - pos;
    }
    const n = t.positions.length;
    for (const [name, expected] of [
      ['bce', bce / n],
      ['sampled-softmax', ssm / n],
      ['ce', ce / n],
    ] as const) {
      const l = sasrecLoss(model, batch, name);
      expect(Math.abs((await l.data())[0]! - expected), name).toBeLessThan(tol * 100);
      l.dispose();
    }
    model.dispose();
  });

  it("computes the sampled softmax over shared negatives, masking each row's own items", async () => {
    const model = new SASRec({ numItems: 6, hiddenUnits: 4, maxLen: 3 }, { seed: 13 }).eval();
    const { h, table } = await parts(model);
    const ids = [2, 5, 6];
    // Row 0's items are 1, 2, 3: shared negative 2 is masked there; row 1 (3..6) masks 5 and 6.
    const excluded = Uint8Array.from([1, 0, 0, 0, 1, 1]);
    const shared = {
      ...batch,
      negatives: new Int32Array(0),
      shared: { ids: Int32Array.from(ids), excluded },
    };
    const t = positionTargets(shared);
    let expected = 0;
    for (let j = 0; j < t.positions.length; j++) {
      const row = Math.floor(t.positions[j]! / 3);
      const hj = h[t.positions[j]!]!;
      const pos = dot(hj, table[t.positives[j]!]!);
      const negs = ids.filter((_, m) => !excluded[row * 3 + m]).map((id) => dot(hj, table[id]!));
      expected += Math.log([pos, ...negs].reduce((s, z) => s + Math.exp(z), 0)) - pos;
    }
    const l = sasrecLoss(model, shared, 'sampled-softmax');
    expect(Math.abs((await l.data())[0]! - expected / t.positions.length)).toBeLessThan(tol * 100);
    l.dispose();
    model.dispose();
  });

  it('refuses a negative-sampling loss on a batch without negatives', () => {
    const model = new SASRec({ numItems: 6, hiddenUnits: 4, maxLen: 3 }, { seed: 12 });
    const none = { ...batch, negatives: new Int32Array(0) };
    expect(() => sasrecLoss(model, none, 'bce')).toThrow(ConfigError);
    model.dispose();
  });
});
