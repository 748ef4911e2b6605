import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic, itemFrequency, leaveOneOut, trainingSequences } from '@mmesid/datasets';
import { AdamW, ConfigError, liveTensors, Trainer, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { epochBatches } from './batches.js';
import { evaluateRanking } from './evaluate.js';
import { sasrecLoss } from './loss.js';
import { SASRec } from './model.js';
import { popularityScorer } from './popularity.js';
import { sasrecScorer } from './sasrec-scorer.js';
import { trainSasrec } from './train.js';

// A small synthetic catalogue with strong sequential structure (items follow chains in clusters).
const data = generateSynthetic({
  seed: 11,
  numUsers: 500,
  numItems: 150,
  numClusters: 6,
  maxSequenceLength: 25,
});
const tiny = generateSynthetic({
  seed: 12,
  numUsers: 40,
  numItems: 30,
  numClusters: 3,
  maxSequenceLength: 8,
});
const small = { hiddenUnits: 16, maxLen: 12, dropout: 0.2 };

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sasrec-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WHY =
  'training for seconds is only affordable on wasm here (cpu is ~10x slower, webgpu on SwiftShader ~100x); ' +
  'the forward/backward smoke test below covers those backends';

describeBackends(
  'trainSasrec',
  () => {
    it('learns: a few seconds of training beat popularity on HR@10 and nDCG@10 (test split)', async () => {
      const split = leaveOneOut(data);
      const { model, history } = await trainSasrec({
        data,
        model: small,
        train: { epochs: 12, evalEvery: 4, lr: 5e-3, seed: 1, batchSize: 64 },
        progress: null,
      });
      const sas = await evaluateRanking(sasrecScorer(model), split.test);
      const popScorer = popularityScorer(itemFrequency(split.train, data.numItems));
      const pop = await evaluateRanking(popScorer, split.test);
      popScorer.dispose();
      model.dispose();
      expect(history.at(-1)!.loss).toBeLessThan(history[0]!.loss);
      expect(sas.hr[10]!).toBeGreaterThan(1.5 * pop.hr[10]!);
      expect(sas.ndcg[10]!).toBeGreaterThan(1.5 * pop.ndcg[10]!);
    });

    it('keeps the number of live tensors constant across training steps', async () => {
      const model = new SASRec({ numItems: tiny.numItems, ...small }, { seed: 2 });
      const opt = new AdamW(model.trainableParameters(), { weightDecay: 0 });
      const trainer = new Trainer({ optimizer: opt });
      const batches = epochBatches(trainingSequences(tiny), {
        batchSize: 8,
        maxLen: 12,
        negatives: 1,
        seed: 1,
        epoch: 1,
        bucketBatches: 2,
      });
      await trainer.step(() => sasrecLoss(model, batches[0]!, 'bce')); // creates Adam's moments
      const counts: number[] = [];
      for (const b of batches.slice(1)) {
        await trainer.step(() => sasrecLoss(model, b, 'bce'));
        counts.push(liveTensors());
      }
      expect(new Set(counts).size).toBe(1);
      trainer.dispose();
      opt.dispose();
      model.dispose();
    });

    it('resumes from a checkpoint to exactly the weights of an uninterrupted run', async () => {
      const train = { epochs: 3, evalEvery: 1, seed: 3, restoreBest: false, batchSize: 16 };
      const straight = await trainSasrec({ data: tiny, model: small, train, progress: null });
      const ckpt = join(dir, 'resume');
      const first = await trainSasrec({
        data: tiny,
        model: small,
        train: { ...train, epochs: 2 },
        checkpointDir: ckpt,
        progress: null,
      });
      first.model.dispose();
      expect((await readdir(ckpt)).sort()).toEqual(['checkpoint']);
      expect((await readdir(join(ckpt, 'checkpoint'))).sort()).toEqual([
        'best.safetensors',
        'model.safetensors',
        'optimizer.safetensors',
        'trainer_state.json',
      ]);
      const resumed = await trainSasrec({
        data: tiny,
        model: small,
        train,
        checkpointDir: ckpt,
        progress: null,
      });
      expect(resumed.resumedFrom).toBe(2);
      expect(resumed.history.map((r) => r.epoch)).toEqual([1, 2, 3]);
      expect(resumed.history.map((r) => r.loss)).toEqual(straight.history.map((r) => r.loss));
      const a = straight.model.stateDict();
      const b = resumed.model.stateDict();
      for (const k of Object.keys(a))
        expect(Array.from(await b[k]!.data()), k).toEqual(Array.from(await a[k]!.data()));
      straight.model.dispose();
      resumed.model.dispose();
      // A checkpoint made with another recipe is refused, naming the difference.
      await expect(
        trainSasrec({
          data: tiny,
          model: small,
          train: { ...train, lr: 0.01 },
          checkpointDir: ckpt,
          progress: null,
        }),
      ).rejects.toThrow(ConfigError);
    });

    it('stops early when validation stops improving, and restores the best weights', async () => {
      const r = await trainSasrec({
        data: tiny,
        model: small,
        train: { epochs: 40, evalEvery: 1, patience: 2, lr: 0.05, seed: 4 },
        progress: null,
      });
      expect(r.stoppedBy).toBe('patience');
      expect(r.epochsDone).toBeLessThan(40);
      expect(r.epochsDone - r.best!.epoch).toBe(2);
      const again = await evaluateRanking(sasrecScorer(r.model), leaveOneOut(tiny).valid);
      expect(again.ndcg[10]).toBeCloseTo(r.best!.ndcg10, 6);
      r.model.dispose();
    });
  },
  { exclude: { cpu: WHY, webgpu: WHY } },
);

describeBackends('SASRec forward/backward smoke test', () => {
  it('computes a finite loss and a gradient for every parameter on tiny shapes', async () => {
    const model = new SASRec(
      { numItems: tiny.numItems, hiddenUnits: 8, numHeads: 2, maxLen: 6 },
      { seed: 5 },
    );
    const [batch] = epochBatches(trainingSequences(tiny), {
      batchSize: 4,
      maxLen: 6,
      negatives: 1,
      seed: 1,
      epoch: 1,
      bucketBatches: 0,
    });
    const vars = [...model.trainableParameters().values()];
    for (const loss of ['bce', 'sampled-softmax', 'ce'] as const) {
      const { value, grads } = tf.variableGrads(() => sasrecLoss(model, batch!, loss), vars);
      expect(Number.isFinite((await value.data())[0]!), loss).toBe(true);
      expect(Object.keys(grads)).toHaveLength(vars.length);
      let nonzero = 0;
      for (const g of Object.values(grads)) {
        const any = tf.tidy(() => tf.any(tf.notEqual(g, 0)));
        if ((await any.data())[0]) nonzero++;
        any.dispose();
      }
      tf.dispose([value, ...Object.values(grads)]);
      expect(nonzero, loss).toBe(vars.length);
    }
    model.dispose();
  });
});
