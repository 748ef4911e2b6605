import { ConfigError, ShapeError, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { causalPaddingBias } from './attention.js';
import { SASRec } from './model.js';

const ids = (rows: number[][]) => tf.tensor2d(rows, undefined, 'int32') as tf.Tensor2D;

async function hidden(model: SASRec, rows: number[][]): Promise<number[][][]> {
  const x = ids(rows);
  const h = model.forward(x);
  const out = (await h.array()) as number[][][];
  tf.dispose([x, h]);
  return out;
}

describeBackends('SASRec model', ({ tol }) => {
  it('names its parameters as the reference code and starts with a zero padding row', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, numBlocks: 2, numHeads: 2, maxLen: 6 }, { seed: 1 });
    const names = [...m.namedParameters()].map(([n, p]) => `${n} [${p.shape}]`);
    expect(names).toContain('item_emb.weight [10,8]');
    expect(names).toContain('pos_emb.weight [6,8]');
    expect(names).toContain('attention_layers.1.in_proj_weight [24,8]');
    expect(names).toContain('attention_layers.0.out_proj.bias [8]');
    expect(names).toContain('forward_layers.1.conv2.weight [8,8]');
    expect(names).toContain('attention_layernorms.0.weight [8]');
    expect(names).toContain('forward_layernorms.1.bias [8]');
    expect(names).toContain('last_layernorm.weight [8]');
    // Per block: 2 norms (2 each), in_proj (2), out_proj (2), conv1 and conv2 (2 each).
    expect(names).toHaveLength(2 + 2 * 12 + 2);
    const table = await m.itemEmbeddings.data();
    expect(Array.from(table.slice(0, 8))).toEqual(new Array(8).fill(0));
    expect(table.slice(8).some((v) => v !== 0)).toBe(true);
    m.dispose();
  });

  it('is causal: changing a later item leaves every earlier position unchanged', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, numHeads: 2, maxLen: 5 }, { seed: 2 }).eval();
    const a = await hidden(m, [[1, 2, 3, 4, 5]]);
    const b = await hidden(m, [[1, 2, 3, 9, 5]]);
    for (let t = 0; t < 3; t++) expect(maxAbsDiff(a[0]![t]!, b[0]![t]!)).toBeLessThan(tol);
    // The changed position and the one after it do move (the test could fail).
    expect(maxAbsDiff(a[0]![3]!, b[0]![3]!)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a[0]![4]!, b[0]![4]!)).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it('is invariant to left padding: the same history gives the same outputs at any batch width', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, maxLen: 6 }, { seed: 3 }).eval();
    const narrow = await hidden(m, [[4, 7, 2]]);
    const wide = await hidden(m, [[0, 0, 0, 4, 7, 2]]);
    // Batched with a longer row, the short row is padded further; its real positions must not move.
    const batched = await hidden(m, [
      [0, 0, 4, 7, 2],
      [1, 3, 5, 6, 8],
    ]);
    for (let t = 0; t < 3; t++) {
      expect(maxAbsDiff(narrow[0]![t]!, wide[0]![3 + t]!)).toBeLessThan(tol);
      expect(maxAbsDiff(narrow[0]![t]!, batched[0]![2 + t]!)).toBeLessThan(tol);
    }
    m.dispose();
  });

  it('applies dropout only in training mode', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, maxLen: 4, dropout: 0.5 }, { seed: 4 });
    m.eval();
    const e1 = await hidden(m, [[1, 2, 3, 4]]);
    const e2 = await hidden(m, [[1, 2, 3, 4]]);
    expect(maxAbsDiff(e1.flat(2), e2.flat(2))).toBe(0);
    m.train();
    const t1 = await hidden(m, [[1, 2, 3, 4]]);
    expect(maxAbsDiff(e1.flat(2), t1.flat(2))).toBeGreaterThan(1e-3);
    m.dispose();
  });

  it('scores every item index with the shared table: scoreAll(h) = h M^T', async () => {
    const m = new SASRec({ numItems: 5, hiddenUnits: 4, maxLen: 3 }, { seed: 5 }).eval();
    const h = tf.tensor2d([[1, 0, -1, 2]]);
    const s = m.scoreAll(h);
    expect(s.shape).toEqual([1, 6]);
    const table = (await m.itemEmbeddings.array()) as number[][];
    const expected = table.map((r) => r[0]! - r[2]! + 2 * r[3]!);
    expect(maxAbsDiff(await s.data(), expected)).toBeLessThan(tol);
    tf.dispose([h, s]);
    m.dispose();
  });

  it('rejects bad inputs and configs with messages that say what was expected', () => {
    const m = new SASRec({ numItems: 5, hiddenUnits: 4, maxLen: 3 }, { seed: 6 });
    const long = ids([[1, 2, 3, 4]]);
    expect(() => m.forward(long)).toThrow(ShapeError);
    expect(() => m.forward(long)).toThrow(/maxLen is 3/);
    const floats = tf.tensor2d([[1, 2]]) as tf.Tensor2D;
    expect(() => m.forward(floats)).toThrow(/int32/);
    tf.dispose([long, floats]);
    m.dispose();
    expect(() => new SASRec({ numItems: 5, hiddenUnits: 6, numHeads: 4 })).toThrow(ConfigError);
    expect(() => new SASRec({ numItems: 0 })).toThrow(/numItems/);
    expect(() => new SASRec({ numItems: 5, dropout: 1 })).toThrow(/dropout/);
  });
});

describeBackends('causalPaddingBias', () => {
  it('lets a position see earlier real items and itself, never padding or the future', async () => {
    const valid = tf.tensor2d([[0, 1, 1]]) as tf.Tensor2D;
    const b = causalPaddingBias(valid);
    const allowed = ((await b.array()) as number[][][][])[0]![0]!.map((r) => r.map((v) => (v === 0 ? 1 : 0)));
    expect(allowed).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    tf.dispose([valid, b]);
  });
});
