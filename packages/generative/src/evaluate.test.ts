import { metricsFromRanks } from '@mmesid/metrics';
import { describeBackends } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { segmentsFromExports, tigerMmVocabulary } from './baselines/tiger-mm.js';
import { evaluateGenerative } from './evaluate.js';
import { GenerativeRecommender } from './generative-model.js';
import { randomCodes, tinyLlama } from './internal/test-fixtures.js';

const numItems = 10;
const collaborative = randomCodes(numItems, 2, 3, 16, 'ev-c');
const text = randomCodes(numItems, 2, 3, 8, 'ev-t');

describeBackends(
  'evaluateGenerative',
  () => {
    it('ranks are positions in the beam (beamWidth + 1 when absent) and metrics are metricsFromRanks of them', async () => {
      const gen = await GenerativeRecommender.create({
        lm: tinyLlama(5),
        vocab: tigerMmVocabulary({ collaborative, text }),
        prompt: { prefix: [1], suffix: [] },
      });
      try {
        const ex = [
          { history: [1, 2], target: 3 },
          { history: [4], target: 9 },
          { history: [7, 8, 6], target: 5 },
          { history: [10], target: 1 },
        ];
        const ev = await evaluateGenerative(gen, ex, { beamWidth: 4, batchSize: 3, ks: [1, 4] });
        const recs = await gen.recommend(
          ex.map((e) => e.history),
          { beamWidth: 4 },
        );
        const expected = ex.map((e, i) => {
          const p = recs[i]!.items.indexOf(e.target);
          return p >= 0 ? p + 1 : 5;
        });
        expect(Array.from(ev.ranks)).toEqual(expected);
        expect(ev.found).toBe(expected.filter((r) => r <= 4).length);
        expect(ev.metrics.ndcg[4]).toBeCloseTo(metricsFromRanks(expected, [1, 4]).ndcg[4]!, 12);
        await expect(evaluateGenerative(gen, ex, { beamWidth: 4 })).rejects.toThrow(
          /cut-offs 5, 10, 20 exceed beamWidth 4/,
        );
      } finally {
        gen.dispose();
      }
    });
  },
  { only: ['cpu', 'wasm'] },
);

describe('TIGER-MM vocabulary from rqvae exports', () => {
  it('re-indexes exports by item id and concatenates modalities; the target defaults to all of them', () => {
    const strip = (s: typeof collaborative) => ({
      ids: s.ids.slice(s.levels),
      codebooks: s.codebooks!,
      quantized: new Float32Array(0),
      rows: numItems,
      levels: s.levels,
      codebookSize: s.codebookSize,
      dim: s.dim!,
    });
    const cfg = (firstItemId: number) => ({ firstItemId, rows: numItems }) as never;
    const segs = segmentsFromExports(
      [
        { config: cfg(1), modalities: { collaborative: strip(collaborative) } },
        { config: cfg(1), modalities: { text: strip(text) } },
      ],
      numItems,
    );
    expect(Array.from(segs.collaborative!.ids)).toEqual(Array.from(collaborative.ids));
    const v = tigerMmVocabulary(segs);
    expect(v.targetSegments).toEqual(['collaborative', 'text']);
    expect(v.targetLength).toBe(4 + (v.collisions.disambiguationSize > 0 ? 1 : 0));
    expect(tigerMmVocabulary(segs, { target: ['collaborative'] }).targetLength).toBeLessThan(
      v.targetLength + 1,
    );
    expect(() => segmentsFromExports([{ config: cfg(2), modalities: { c: strip(text) } }], numItems)).toThrow(
      /covers items 2..11, the dataset has 1..10/,
    );
  });
});
