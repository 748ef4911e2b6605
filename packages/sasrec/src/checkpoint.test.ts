import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDictError, saveSafetensors, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportItemEmbeddings, loadItemEmbeddings } from './item-embeddings.js';
import { SASRec } from './model.js';
import { loadSasrec, saveSasrec } from './model-io.js';
import { sasrecScorer } from './sasrec-scorer.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sasrec-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const histories = [
  Int32Array.from([3, 1, 4]),
  Int32Array.from([5, 9, 2, 6, 5, 3, 5, 8]),
  Int32Array.from([7]),
];

describeBackends('SASRec files', ({ backend }) => {
  it('a saved model loads into a fresh model bit-for-bit, with identical scores', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, numHeads: 2, maxLen: 5 }, { seed: 21 }).eval();
    // Move the weights off their init so the test does not pass on a reproducible init alone.
    tf.tidy(() => {
      for (const [, p] of m.namedParameters())
        p.assign(tf.add(p, tf.randomNormal(p.shape, 0, 0.1, 'float32', 5)));
    });
    const sub = join(dir, `model-${backend}`);
    await saveSasrec(sub, m);
    const again = await loadSasrec(sub);
    const a = m.stateDict();
    const b = again.stateDict();
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) {
      expect(Array.from(await b[k]!.data()), k).toEqual(Array.from(await a[k]!.data()));
    }
    const s1 = sasrecScorer(m).score(histories);
    const s2 = sasrecScorer(again).score(histories);
    expect(Array.from(await s2.data())).toEqual(Array.from(await s1.data()));
    tf.dispose([s1, s2]);
    m.dispose();
    again.dispose();
  });

  it('names a missing or mis-shaped tensor when a file does not fit the architecture', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, maxLen: 5 }, { seed: 22 });
    const sub = join(dir, `bad-${backend}`);
    await saveSasrec(sub, m);
    const sd = m.stateDict();
    const { 'last_layernorm.bias': _dropped, ...rest } = sd;
    await saveSafetensors(join(sub, 'model.safetensors'), rest);
    await expect(loadSasrec(sub)).rejects.toThrow(StateDictError);
    await expect(loadSasrec(sub)).rejects.toThrow(/last_layernorm\.bias/);
    m.dispose();
  });

  it('exports the item table (rows 0..numItems) and reads it back exactly', async () => {
    const m = new SASRec({ numItems: 9, hiddenUnits: 8, maxLen: 5 }, { seed: 23 });
    const sub = join(dir, `table-${backend}`);
    const files = await exportItemEmbeddings(m, sub, { note: 'test' });
    expect((await readdir(sub)).sort()).toEqual(['sasrec_item_emb.json', 'sasrec_item_emb.safetensors']);
    const t = await loadItemEmbeddings(files.table);
    expect([t.matrix.rows, t.matrix.cols, t.numItems, t.dim]).toEqual([10, 8, 9, 8]);
    expect(t.meta.note).toBe('test');
    expect(t.meta.paddingIdx).toBe(0);
    expect(Array.from(t.matrix.data)).toEqual(Array.from(await m.itemEmbeddings.data()));
    m.dispose();
  });
});
