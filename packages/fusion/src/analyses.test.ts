import { distanceOrderTau, metricsFromRanks, randomItemPairs } from '@mmesid/metrics';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { tinyData, tinyModel } from './__fixtures__/tiny.js';
import { embeddingSpectra, sidDistanceTau, sidEmbeddingTable } from './analyses.js';
import { evaluateMmeSid } from './evaluate.js';

describeBackends(
  'analyses and evaluation',
  () => {
    it("the SID table sums each item's L codebook rows at init; tau is computed against it", async () => {
      const model = await tinyModel();
      const { semanticIds, tables, numItems: N } = tinyData();
      try {
        const table = await sidEmbeddingTable(model, 'collaborative');
        const cb = semanticIds.collaborative!;
        expect([table.rows, table.cols]).toEqual([N + 1, 24]);
        const manual = new Float32Array((N + 1) * 24);
        for (let i = 0; i <= N; i++)
          for (let l = 0; l < 3; l++)
            for (let c = 0; c < 24; c++)
              manual[i * 24 + c]! += cb.codebooks![(l * 8 + cb.ids[i * 3 + l]!) * 24 + c] as number;
        for (let i = 0; i < manual.length; i++) expect(table.data[i]).toBeCloseTo(manual[i]!, 4);
        const pairs = randomItemPairs(N, 300, { seed: 2 });
        const tau = await sidDistanceTau(model, tables.collaborative!, pairs);
        expect(tau.tau).toBeCloseTo(
          distanceOrderTau(tables.collaborative!, { rows: N + 1, cols: 24, data: manual }, pairs).tau,
          4,
        );
        expect(tau.pairs).toBe(300);
        const noSid = await tinyModel({ itemToken: { sid: false } });
        await expect(sidDistanceTau(noSid, tables.collaborative!, pairs)).rejects.toThrow(
          /no semantic-ID embeddings/,
        );
        noSid.dispose();
      } finally {
        model.dispose();
      }
    });

    it('spectra of the item tokens and the target table: min(N, d) values, descending, normalised to 1', async () => {
      const model = await tinyModel();
      const { numItems: N } = tinyData();
      try {
        const { itemTokens, targetTable } = await embeddingSpectra(model, { batch: 16 });
        for (const s of [itemTokens, targetTable]) {
          expect(s.values.length).toBe(Math.min(N, 32));
          expect(s.rows).toBe(N);
          expect(s.normalized[0]).toBe(1);
          for (let i = 1; i < s.values.length; i++)
            expect(s.values[i]!).toBeLessThanOrEqual(s.values[i - 1]! + 1e-9);
        }
      } finally {
        model.dispose();
      }
    });

    it('evaluateMmeSid ranks every test target against all items minus the history, as a direct computation does', async () => {
      const model = await tinyModel();
      const { split } = tinyData();
      try {
        const test = split.test.slice(0, 9);
        const { metrics, ranks } = await evaluateMmeSid(model, test, { batchSize: 4 });
        const s = model.score(test.map((e) => e.history));
        const rows = (await s.array()) as number[][];
        s.dispose();
        const direct = test.map((e, b) => {
          const row = rows[b]!;
          const hist = new Set(Array.from(e.history));
          let rank = 1;
          row.forEach((v, i) => {
            if (i !== e.target && !hist.has(i) && v >= row[e.target]!) rank++;
          });
          return rank;
        });
        expect(Array.from(ranks)).toEqual(direct);
        const ref = metricsFromRanks(direct);
        expect(metrics.users).toBe(9);
        for (const k of [5, 10, 20]) {
          expect(metrics.hr[k]).toBeCloseTo(ref.hr[k]!, 12);
          expect(metrics.ndcg[k]).toBeCloseTo(ref.ndcg[k]!, 12);
        }
      } finally {
        model.dispose();
      }
    });
  },
  {
    exclude: {
      webgpu: 'runs the LLM over a whole test split; SwiftShader is ~100x slower than WASM',
      cpu: 'the same code path as wasm, ~10x slower',
    },
  },
);
