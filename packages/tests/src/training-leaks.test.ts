/**
 * Leak checks around whole training loops, not single steps: SASRec, the MM-RQ-VAE and MME-SID
 * fine-tuning each run about two hundred optimiser steps on tiny data, and the number of live
 * tensors must stay the same from one epoch (or progress report) to the next and come back to
 * where it started once the model is disposed (the harness checks the latter for every test).
 */
import { generateSynthetic, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import { createFromConfig, promptFromIds, trainMmeSid } from '@mmesid/fusion';
import { trainRqvae } from '@mmesid/rqvae';
import { trainSasrec } from '@mmesid/sasrec';
import { liveTensors, Rng } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyLlama, tinyMmRqvae } from './tiny-models.js';

const data = generateSynthetic({
  seed: 21,
  numUsers: 40,
  numItems: 30,
  numClusters: 3,
  minSequenceLength: 3,
  meanSequenceLength: 5,
  maxSequenceLength: 8,
});

/** Live tensors after each epoch; the first two may differ (optimiser moments, the first best-weight copy). */
function steady(counts: number[]): void {
  const tail = counts.slice(2);
  expect(tail.length).toBeGreaterThan(3);
  expect(new Set(tail).size, `live tensors per epoch: ${counts.join(', ')}`).toBe(1);
}

describeBackends(
  'training loops do not leak',
  () => {
    it('trainSasrec: 40 epochs x 5 steps', async () => {
      const counts: number[] = [];
      const before = liveTensors();
      const res = await trainSasrec({
        data,
        model: { hiddenUnits: 8, maxLen: 8, numBlocks: 1, dropout: 0.2 },
        train: { epochs: 40, batchSize: 8, patience: 1000, evalEvery: 2, bucketBatches: 0, seed: 3 },
        progress: null,
        onEpoch: () => {
          counts.push(liveTensors());
        },
      });
      expect(res.epochsDone).toBe(40);
      steady(counts);
      res.model.dispose();
      expect(liveTensors()).toBe(before);
    }, 120_000);

    it('trainRqvae: 70 epochs x 3 steps', async () => {
      const rng = new Rng('leaks-rqvae');
      const n = 48;
      const items = {
        collaborative: { rows: n, cols: 6, data: rng.fillNormal(new Float32Array(n * 6)) },
        text: { rows: n, cols: 5, data: rng.fillNormal(new Float32Array(n * 5)) },
      };
      const model = tinyMmRqvae(6, 5);
      const withModel = liveTensors();
      const counts: number[] = [];
      const res = await trainRqvae(
        model,
        items,
        { batchSize: 16, lr: 5e-3, patience: 0, logEvery: 0, seed: 5, maxEpochs: 70 },
        { onEpoch: () => void counts.push(liveTensors()), log: null },
      );
      expect(res.epochs).toBe(70);
      steady(counts);
      expect(liveTensors()).toBe(withModel);
      model.dispose();
    }, 120_000);

    it('trainMmeSid: 3 epochs x 70 steps', async () => {
      const N = data.numItems;
      const rng = new Rng('leaks-fusion');
      const ids = new Int32Array((N + 1) * 2);
      for (let i = 2; i < ids.length; i++) ids[i] = rng.int(4);
      const model = await createFromConfig({
        config: { seed: 1, modalities: ['collaborative'] },
        numItems: N,
        tables: {
          collaborative: { rows: N + 1, cols: 6, data: rng.fillNormal(new Float32Array((N + 1) * 6)) },
        },
        semanticIds: {
          collaborative: {
            ids,
            levels: 2,
            codebookSize: 4,
            dim: 8,
            codebooks: rng.fillNormal(new Float32Array(64)),
          },
        },
        frequency: itemFrequency(leaveOneOut(data).train, N),
        llama: tinyLlama('leaks-llama'),
        prompt: promptFromIds([1, 3], [4]),
      });
      const pairs = leaveOneOut(data).train;
      // One step first: the model builds its lazy caches (e.g. RoPE tables) on its first forward.
      await trainMmeSid(model, pairs, { maxSteps: 1, microBatch: 1, effectiveBatch: 1 }, { log: () => {} });
      const withModel = liveTensors();
      const counts: number[] = [];
      const res = await trainMmeSid(
        model,
        pairs,
        {
          epochs: 3,
          microBatch: 1,
          effectiveBatch: 1,
          maxExamples: 70,
          logEvery: 10,
          warmupSteps: 5,
          seed: 2,
        },
        { log: () => {}, onProgress: () => void counts.push(liveTensors()) },
      );
      expect(res.optimizerSteps).toBe(210);
      steady(counts);
      expect(liveTensors()).toBe(withModel);
      model.dispose();
    }, 180_000);
  },
  {
    exclude: {
      cpu: 'the same code path as wasm, ~10x slower',
      webgpu: 'hundreds of training steps; SwiftShader is ~100x slower than WASM',
      tensorflow: 'the same loops as wasm; one backend keeps this under a minute',
    },
  },
);
