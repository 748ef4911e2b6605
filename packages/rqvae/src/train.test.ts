import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RqvaeConfigInput } from './config.js';
import type { EmbeddingMatrix } from './data.js';
import { exportSemanticIds, loadExport, loadTokenizer } from './export.js';
import { MMRQVAE } from './mm-rqvae.js';
import { tokenizerReport } from './report.js';
import { RQKMeans } from './rq-kmeans.js';
import { trainRqvae } from './train.js';

/** Items in 4 clusters; the text modality is a noisy linear view of the collaborative one. */
function toyItems(n: number, seed: number): { collaborative: EmbeddingMatrix; text: EmbeddingMatrix } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => rng.uniform(-2, 2)));
  const proj = Array.from({ length: 6 * 5 }, () => rng.normal(0, 0.5));
  const c = new Float32Array(n * 6);
  const t = new Float32Array(n * 5);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 6; j++) c[i * 6 + j] = centres[i % 4]![j]! + rng.normal(0, 0.3);
    for (let k = 0; k < 5; k++) {
      let s = 0;
      for (let j = 0; j < 6; j++) s += c[i * 6 + j]! * proj[j * 5 + k]!;
      t[i * 5 + k] = s + rng.normal(0, 0.05);
    }
  }
  return { collaborative: { rows: n, cols: 6, data: c }, text: { rows: n, cols: 5, data: t } };
}

const CONFIG: RqvaeConfigInput = {
  modalities: [
    { name: 'collaborative', inputDim: 6 },
    { name: 'text', inputDim: 5 },
  ],
  eDim: 4,
  hiddenLayers: [8],
  levels: 2,
  codebookSize: 4,
  kmeansIters: 10,
  sinkhornEpsilons: [0, 0.003],
  sinkhornIters: 10,
  seed: 3,
};

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rqvae-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeBackends(
  'trainRqvae / export',
  ({ backend, tol }) => {
    const items = toyItems(48, 1);
    const opts = { batchSize: 16, lr: 5e-3, patience: 0, logEvery: 0, seed: 5 } as const;

    it('lowers the training loss (MMD reconstruction, InfoNCE alignment) and restores the best epoch', async () => {
      const model = new MMRQVAE(CONFIG);
      const res = await trainRqvae(model, items, { ...opts, maxEpochs: 12 });
      expect(res.epochs).toBe(12);
      expect(res.stoppedBy).toBe('maxEpochs');
      expect(res.history.length).toBe(12);
      expect(res.history[11]!).toBeLessThan(res.history[0]!);
      expect(res.bestLoss).toBe(Math.min(...res.history));
      expect(res.bestEpoch).toBe(res.history.indexOf(res.bestLoss));
      const ids = await model.assign(items);
      expect(ids.collaborative!.length).toBe(48 * 2);
      expect(ids.text!.length).toBe(48 * 2);
      for (const v of ids.collaborative!) expect(v >= 0 && v < 4).toBe(true);
      model.dispose();
    });

    it('stops early on the training loss (patience) and after maxSeconds', async () => {
      const model = new MMRQVAE({ ...CONFIG, alignment: 'mmd' });
      // lr 0: the loss never improves after the first epoch, so patience 2 stops at epoch 3.
      const res = await trainRqvae(model, items, { ...opts, lr: 1e-12, maxEpochs: 50, patience: 2 });
      expect(res.stoppedBy).toBe('patience');
      expect(res.epochs).toBeLessThanOrEqual(4);
      const timed = await trainRqvae(model, items, { ...opts, maxEpochs: 1000, maxSeconds: 1e-6 });
      expect(timed.stoppedBy).toBe('maxSeconds');
      expect(timed.epochs).toBe(1);
      model.dispose();
    });

    it('resumes from a checkpoint to the same weights as an uninterrupted run', async () => {
      const straight = new MMRQVAE(CONFIG);
      await trainRqvae(straight, items, { ...opts, maxEpochs: 4, checkpointDir: join(dir, `a-${backend}`) });
      const first = new MMRQVAE(CONFIG);
      const ckpt = join(dir, `b-${backend}`);
      await trainRqvae(first, items, { ...opts, maxEpochs: 2, checkpointDir: ckpt, checkpointEvery: 1 });
      first.dispose();
      const resumed = new MMRQVAE(CONFIG);
      const res = await trainRqvae(resumed, items, { ...opts, maxEpochs: 4, checkpointDir: ckpt });
      expect(res.resumedFrom).toBe(2);
      expect(res.epochs).toBe(4);
      const a = straight.stateDict();
      const b = resumed.stateDict();
      for (const k of Object.keys(a))
        expect(maxAbsDiff(await a[k]!.data(), await b[k]!.data()), k).toBeLessThan(10 * tol);
      // A checkpoint of another config is refused.
      const other = new MMRQVAE({ ...CONFIG, eDim: 3 });
      await expect(trainRqvae(other, items, { ...opts, maxEpochs: 4, checkpointDir: ckpt })).rejects.toThrow(
        /different config/,
      );
      tf.dispose([]);
      straight.dispose();
      resumed.dispose();
      other.dispose();
    });

    it('validation early stopping on held-out items: the best epoch by validation loss, restored; stops patience epochs later', async () => {
      const model = new MMRQVAE(CONFIG);
      const res = await trainRqvae(model, items, {
        ...opts,
        lr: 5e-2,
        maxEpochs: 40,
        patience: 2,
        validationFraction: 0.25,
      });
      expect(res.validationItems).toBe(12);
      const v = res.validationHistory!;
      expect(v.length).toBe(res.epochs);
      expect(res.bestLoss).toBe(Math.min(...v));
      expect(res.bestEpoch).toBe(v.indexOf(res.bestLoss));
      // lr 5e-2 on 36 items overfits: the held-out loss stops improving well before 40 epochs.
      expect(res.stoppedBy).toBe('patience');
      expect(res.epochs).toBe(res.bestEpoch + 1 + 2);
      for (const later of v.slice(res.bestEpoch + 1)) expect(later).toBeGreaterThanOrEqual(res.bestLoss);
      // The criterion is the held-out loss, not the training loss (the two histories differ).
      expect(maxAbsDiff(v, res.history)).toBeGreaterThan(1e-6);
      // The model holds the best epoch's weights: those of a run that ends at that epoch.
      const upTo = new MMRQVAE(CONFIG);
      await trainRqvae(upTo, items, {
        ...opts,
        lr: 5e-2,
        maxEpochs: res.bestEpoch + 1,
        patience: 0,
        validationFraction: 0.25,
      });
      const sa = model.stateDict();
      const sb = upTo.stateDict();
      for (const k of Object.keys(sa))
        expect(maxAbsDiff(await sa[k]!.data(), await sb[k]!.data()), k).toBeLessThan(10 * tol);
      upTo.dispose();
      await expect(
        trainRqvae(model, items, { ...opts, maxEpochs: 1, validationFraction: 0.999 }),
      ).rejects.toThrow(/leaves none to train on/);
      model.dispose();
    });

    it('with validation, a run paused after an epoch and resumed ends with the same weights and histories', async () => {
      const vopts = { ...opts, maxEpochs: 5, validationFraction: 0.25, patience: 0 };
      const straight = new MMRQVAE(CONFIG);
      const a = await trainRqvae(straight, items, vopts);
      const ckpt = join(dir, `val-${backend}`);
      const first = new MMRQVAE(CONFIG);
      await trainRqvae(first, items, { ...vopts, maxEpochs: 3, checkpointDir: ckpt, checkpointEvery: 1 });
      first.dispose();
      const resumed = new MMRQVAE(CONFIG);
      const b = await trainRqvae(resumed, items, { ...vopts, checkpointDir: ckpt });
      expect(b.resumedFrom).toBe(3);
      expect(b.bestEpoch).toBe(a.bestEpoch);
      expect(maxAbsDiff(b.validationHistory!, a.validationHistory!)).toBeLessThan(10 * tol);
      const sa = straight.stateDict();
      const sb = resumed.stateDict();
      for (const k of Object.keys(sa))
        expect(maxAbsDiff(await sa[k]!.data(), await sb[k]!.data()), k).toBeLessThan(10 * tol);
      straight.dispose();
      resumed.dispose();
    });

    it('exports IDs, codebooks and quantised embeddings that load back unchanged', async () => {
      const model = new MMRQVAE(CONFIG);
      await trainRqvae(model, items, { ...opts, maxEpochs: 2 });
      const out = join(dir, `export-${backend}`);
      const cfg = await exportSemanticIds(model, items, out, { firstItemId: 1, metadata: { note: 'toy' } });
      expect(cfg.rows).toBe(48);
      const loaded = await loadExport(out);
      expect(loaded.config.kind).toBe('mm-rqvae');
      expect(loaded.config.metadata).toEqual({ note: 'toy' });
      const ids = await model.assign(items);
      const q = await model.quantize(items);
      const books = model.codebooks();
      for (const name of ['collaborative', 'text']) {
        const m = loaded.modalities[name]!;
        expect([m.rows, m.levels, m.codebookSize, m.dim]).toEqual([48, 2, 4, 4]);
        expect(Array.from(m.ids)).toEqual(Array.from(ids[name]!));
        expect(maxAbsDiff(m.quantized, q[name]!.data)).toBe(0);
        expect(maxAbsDiff(m.codebooks, await books[name]!.data())).toBe(0);
      }
      tf.dispose(Object.values(books));
      // The tokenizer comes back too and assigns the same IDs.
      const again = await loadTokenizer(out);
      const ids2 = await again.assign(items);
      expect(Array.from(ids2.text!)).toEqual(Array.from(ids.text!));
      // Exporting again replaces the directory as a whole.
      await exportSemanticIds(model, items, out);
      expect((await loadExport(out)).config.firstItemId).toBe(0);
      again.dispose();
      model.dispose();
    });

    it('RQ-KMeans fits, reports and round-trips behind the same interface', async () => {
      const rqk = new RQKMeans({
        modalities: [{ name: 'collaborative', inputDim: 6 }],
        levels: 2,
        codebookSize: 4,
        kmeansIters: 20,
      });
      await rqk.fit({ collaborative: items.collaborative });
      const report = await tokenizerReport(
        rqk,
        { collaborative: items.collaborative },
        { pairs: { first: Int32Array.from([0, 1, 2, 3, 5]), second: Int32Array.from([4, 9, 6, 11, 40]) } },
      );
      const r = report.collaborative!;
      expect(r.perLevel[0]!.usedCodes).toBe(4);
      expect(r.tauQuantized).toBe(r.tauReconstructed);
      expect(r.pairs).toBe(5);
      expect(r.reconstructionMse).toBeGreaterThan(0);
      const out = join(dir, `rqk-${backend}`);
      await exportSemanticIds(rqk, { collaborative: items.collaborative }, out);
      const back = await loadTokenizer(out);
      expect(back.kind).toBe('rq-kmeans');
      const a = await rqk.assign({ collaborative: items.collaborative });
      const b = await back.assign({ collaborative: items.collaborative });
      expect(Array.from(b.collaborative!)).toEqual(Array.from(a.collaborative!));
      back.dispose();
      rqk.dispose();
    });
  },
  {
    exclude: {
      webgpu:
        'trains for tens of steps: minutes on SwiftShader; the same ops are checked on webgpu by the quantiser and loss suites',
    },
  },
);
