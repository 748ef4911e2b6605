import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLlamaModel } from '@mmesid/llama';
import { exportSemanticIds, loadExport, RQKMeans } from '@mmesid/rqvae';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyData } from './__fixtures__/tiny.js';
import { createMmeSid } from './create.js';
import { trainMmeSid } from './train.js';

const s = sharedDir('models', 'stories260k');

describeBackends(
  'MME-SID on stories260k with a real semantic-ID export',
  () => {
    it.skipIf(!s.path)(
      'createMmeSid reads the llama dir, its llama2.c tokenizer and an @mmesid/rqvae export; at init the LLM equals the base; training lowers the loss',
      async () => {
        const { tables, numItems: N, frequency, split } = tinyData();
        const dir = mkdtempSync(join(tmpdir(), 'fusion-sid-'));
        // RQ-KMeans behind the same export format as the MM-RQ-VAE (rows = items 1..N).
        const inputs = Object.fromEntries(
          Object.entries(tables).map(([m, t]) => [
            m,
            { rows: N, cols: t.cols, data: t.data.subarray(t.cols) },
          ]),
        );
        const rqk = new RQKMeans({
          modalities: Object.entries(inputs).map(([name, t]) => ({ name, inputDim: t.cols })),
          levels: 2,
          codebookSize: 8,
          kmeansIters: 5,
          seed: 1,
        });
        await rqk.fit(inputs);
        await exportSemanticIds(rqk, inputs, join(dir, 'sid'), { firstItemId: 1 });
        rqk.dispose();
        const exp = await loadExport(join(dir, 'sid'));
        const model = await createMmeSid({
          variant: 'MME-SID',
          config: { itemsAtEnd: true, lora: { dropout: 0 } },
          numItems: N,
          tables,
          semanticIds: exp,
          frequency,
          llama: s.path!,
          promptStyle: 'minimal',
        });
        const base = await loadLlamaModel(s.path!, { log: false });
        try {
          expect(model.hidden).toBe(64);
          expect(model.prompt.style).toBe('minimal');
          expect(model.prompt.prefix[0]).toBe(1);
          // Codebook init: the collaborative table equals RQ-KMeans' codebooks (width 16 = the input width, projected to 64).
          const cb = exp.modalities.collaborative!;
          const sid = model.tokens.sidEmbedding('collaborative')!;
          expect(maxAbsDiff(await sid.codes.data(), cb.codebooks)).toBe(0);
          expect(sid.getModule('proj')).toBeDefined();
          const h = split.test.slice(0, 3).map((e) => e.history);
          const { embeds, mask } = model.embedPrompts(h);
          const a = model.llm.forward({ inputsEmbeds: embeds, attentionMask: mask }).lastHiddenState;
          const b = base.forward({ inputsEmbeds: embeds, attentionMask: mask }).lastHiddenState;
          expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
          tf.dispose([embeds, a, b]);
          const r = await trainMmeSid(
            model,
            split.train,
            {
              mode: 'efficient',
              epochs: 2,
              lr: 3e-3,
              warmupSteps: 1,
              effectiveBatch: 4,
              microBatch: 4,
              maxExamples: 24,
              logEvery: 1,
            },
            { log: () => {} },
          );
          expect(r.finalLoss).toBeLessThan(r.firstLoss);
          expect(r.parameters.groups.lora).toBe(5 * (2 * 8 * (64 + 172) + 8 * (172 + 64)));
        } finally {
          model.dispose();
          base.dispose();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  },
  {
    exclude: {
      webgpu: 'loads and trains a 5-layer model; SwiftShader is ~100x slower than WASM',
      cpu: 'the same code path as wasm, ~10x slower',
    },
  },
);
