/**
 * The whole pipeline on synthetic data, through each package's public entry point, in seconds:
 * data and split (datasets) -> SASRec item table (sasrec) -> text embeddings of the titles
 * (llm2clip's TF-IDF + SVD encoder) -> MM-RQ-VAE semantic IDs, exported and read back (rqvae) ->
 * MME-SID built on a tiny Llama and fine-tuned with LoRA (llama, lora, fusion) -> full-ranking
 * evaluation (metrics) -> the run exported and loaded again.
 *
 * Between the stages it checks what each hand-off promises, against values the stages do not
 * compute for each other:
 * - the SID embeddings of MME-SID start as the MM-RQ-VAE's exported codebooks, and the sum of an
 *   item's code embeddings equals the MM-RQ-VAE's own quantised embedding of that item;
 * - the reported metrics are the ones its ranks give (HR@k = share of ranks <= k, nDCG@k =
 *   1/log2(rank+1) below k), every rank is within the catalogue;
 * - fine-tuning lowers the loss;
 * - the exported run (LoRA merged into the weights) scores like the trained model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import {
  createFromConfig,
  evaluateMmeSid,
  exportRun,
  loadRun,
  promptFromIds,
  semanticIdsFromExport,
  trainMmeSid,
} from '@mmesid/fusion';
import { TfidfSvdTextEncoder } from '@mmesid/llm2clip';
import { exportSemanticIds, loadExport, trainRqvae } from '@mmesid/rqvae';
import { trainSasrec } from '@mmesid/sasrec';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyLlama, tinyMmRqvae } from './tiny-models.js';

describeBackends(
  'the whole pipeline on synthetic data',
  (ctx) => {
    it('data -> SASRec -> text -> MM-RQ-VAE -> MME-SID fine-tuning -> evaluation -> export/load', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mmesid-pipeline-'));
      try {
        // 1. Data.
        const data = generateSynthetic({
          seed: 5,
          numUsers: 60,
          numItems: 40,
          numClusters: 4,
          minSequenceLength: 4,
          meanSequenceLength: 6,
          maxSequenceLength: 9,
        });
        const N = data.numItems;
        const split = leaveOneOut(data);

        // 2. SASRec: the collaborative table, rows 0..N.
        const sas = await trainSasrec({
          data,
          model: { hiddenUnits: 8, maxLen: 10, numBlocks: 1, dropout: 0 },
          train: { epochs: 2, batchSize: 16, patience: 1000, evalEvery: 2, bucketBatches: 0, seed: 2 },
          progress: null,
        });
        const collab = (await sas.model.itemEmbeddings.data()) as Float32Array;
        sas.model.dispose();
        expect(collab.length).toBe((N + 1) * 8);

        // 3. Text: TF-IDF + SVD of the titles.
        const titles = data.items.slice(1).map((it) => it!.title!);
        const enc = TfidfSvdTextEncoder.fit(titles, { dim: 6, seed: 1 });
        const text = await enc.encode(titles);
        enc.dispose();
        expect(text.length).toBe(N * 6);

        // 4. MM-RQ-VAE over items 1..N, exported and read back.
        const inputs = {
          collaborative: { rows: N, cols: 8, data: collab.slice(8) },
          text: { rows: N, cols: 6, data: text },
        };
        const rq = tinyMmRqvae(8, 6);
        await trainRqvae(
          rq,
          inputs,
          { batchSize: 16, lr: 5e-3, patience: 0, logEvery: 0, seed: 5, maxEpochs: 10 },
          { log: null },
        );
        const quantized = await rq.quantize(inputs);
        await exportSemanticIds(rq, inputs, join(dir, 'sids'), { firstItemId: 1 });
        rq.dispose();
        const exp = await loadExport(join(dir, 'sids'));
        const semanticIds = semanticIdsFromExport(exp, N);

        // 5. MME-SID on a tiny random Llama, collaborative + text.
        const collabTable = { rows: N + 1, cols: 8, data: collab };
        const textTable = { rows: N + 1, cols: 6, data: new Float32Array((N + 1) * 6) };
        textTable.data.set(text, 6);
        const llama = tinyLlama('pipeline-llama');
        const model = await createFromConfig({
          config: { seed: 1, modalities: ['collaborative', 'text'] },
          numItems: N,
          tables: { collaborative: collabTable, text: textTable },
          semanticIds,
          frequency: itemFrequency(split.train, N),
          llama,
          prompt: promptFromIds([1, 3], [4]),
        });
        try {
          // Codebook initialisation: the SID embeddings are the exported codebooks, and an item's
          // summed code embeddings are the MM-RQ-VAE's quantised embedding of it.
          for (const m of ['collaborative', 'text'] as const) {
            const sid = model.itemTokenizer.sidEmbedding(m)!;
            const codes = (await sid.codes.data()) as Float32Array;
            const cb = exp.modalities[m]!.codebooks;
            expect(codes.length).toBe(cb.length);
            let maxDiff = 0;
            for (let i = 0; i < cb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(codes[i]! - cb[i]!));
            expect(maxDiff).toBe(0);
            const ids = exp.modalities[m]!.ids;
            const q = quantized[m]!;
            const K = 4;
            const D = 4;
            for (let item = 0; item < N; item++)
              for (let d = 0; d < D; d++) {
                let sum = 0;
                for (let l = 0; l < 2; l++) sum += cb[(l * K + ids[item * 2 + l]!) * D + d]!;
                expect(Math.abs(sum - q.data[item * D + d]!)).toBeLessThan(1e-5);
              }
          }

          // 6. Fine-tuning lowers the loss.
          const res = await trainMmeSid(
            model,
            split.train,
            {
              epochs: 1,
              maxExamples: 96,
              microBatch: 4,
              effectiveBatch: 4,
              logEvery: 4,
              warmupSteps: 2,
              lr: 1e-2,
              seed: 2,
            },
            { log: () => {} },
          );
          expect(res.optimizerSteps).toBe(24);
          expect(res.finalLoss).toBeLessThan(res.firstLoss);

          // 7. Full-ranking evaluation; the metrics are what the ranks say.
          const ev = await evaluateMmeSid(model, split.test, { ks: [5, 10] });
          expect(ev.ranks.length).toBe(split.test.length);
          for (const k of [5, 10]) {
            let hr = 0;
            let ndcg = 0;
            for (const r of ev.ranks) {
              expect(r).toBeGreaterThanOrEqual(1);
              expect(r).toBeLessThanOrEqual(N);
              if (r <= k) {
                hr += 1;
                ndcg += 1 / Math.log2(r + 1);
              }
            }
            expect(ev.metrics.hr[k]).toBeCloseTo(hr / ev.ranks.length, 6);
            expect(ev.metrics.ndcg[k]).toBeCloseTo(ndcg / ev.ranks.length, 6);
          }

          // 8. The exported run (LoRA merged) scores like the trained model.
          await exportRun(model, join(dir, 'run'));
          const loaded = await loadRun(join(dir, 'run'));
          try {
            const histories = split.test.slice(0, 6).map((p) => p.history);
            const a = model.score(histories);
            const b = loaded.score(histories);
            const [da, db] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
            a.dispose();
            b.dispose();
            let maxDiff = 0;
            let scale = 0;
            for (let i = 0; i < da.length; i++) {
              maxDiff = Math.max(maxDiff, Math.abs(da[i]! - db[i]!));
              scale = Math.max(scale, Math.abs(da[i]!));
            }
            // Merging W + BA into one matrix reorders float sums: relative to the largest score.
            expect(maxDiff / scale).toBeLessThan(ctx.tol * 10);
          } finally {
            loaded.dispose();
          }
        } finally {
          model.dispose();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 180_000);
  },
  {
    exclude: {
      cpu: 'the same code path as wasm, several times slower',
      webgpu: 'hundreds of kernels per step on SwiftShader; the stages are tested on webgpu one by one',
      tensorflow: 'the same pipeline as wasm; one backend keeps the suite fast',
    },
  },
);
