import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GenerativeRecommender } from './generative-model.js';
import { randomCodes, tinyLlama } from './internal/test-fixtures.js';
import { SidVocabulary } from './sid-vocabulary.js';

const numItems = 14;
const vocab = SidVocabulary.build({
  collaborative: randomCodes(numItems, 2, 4, 16, 'collab'),
  text: randomCodes(numItems, 2, 3, 8, 'text'),
});
const prompt = { prefix: [1, 5, 9], suffix: [7] };

/** Exact sequence log-probability of an item by one full forward (no cache), teacher-forced. */
async function itemScore(gen: GenerativeRecommender, history: number[], item: number): Promise<number> {
  const target = Array.from(gen.vocab.target(item));
  const ids = [...gen.promptIds(history), ...target.map((s) => gen.textVocab + s)];
  const lp = tf.tidy(() => {
    const out = gen.lm.forward({ inputsEmbeds: gen.embedIds([ids]), returnLogits: false });
    const T = ids.length;
    const D = target.length;
    return gen.sidLogProbs(tf.slice(out.lastHiddenState, [0, T - D - 1, 0], [1, D, -1]));
  });
  const v = await lp.data();
  lp.dispose();
  return target.reduce((s, tok, t) => s + v[t * gen.vocab.size + tok]!, 0);
}

describeBackends(
  'GenerativeRecommender on a tiny random Llama',
  ({ tol }) => {
    let gen: GenerativeRecommender;
    beforeAll(async () => {
      gen = await GenerativeRecommender.create({ lm: tinyLlama(), vocab, prompt, seed: 1 });
      gen.eval();
    });
    afterAll(() => gen.dispose());

    it('SID ids follow the text vocabulary; embeddings of mixed rows are the two tables', async () => {
      const ids = gen.promptIds([0, 3, 5]);
      expect(ids.slice(0, 3)).toEqual(prompt.prefix);
      expect(ids.slice(3, 3 + vocab.historyLength)).toEqual(
        Array.from(vocab.historyTokens(3), (s) => 32 + s),
      );
      expect(ids).toHaveLength(3 + 2 * vocab.historyLength + 1);
      const emb = gen.embedIds([ids]);
      const text = gen.lm.embedTokens([prompt.prefix as number[]]);
      const sid = tf.gather(gen.sidTokens.embedWeight, Array.from(vocab.historyTokens(3)));
      const e = await emb.data();
      expect(maxAbsDiff(e.slice(0, 3 * 16), await text.data())).toBe(0);
      expect(maxAbsDiff(e.slice(3 * 16, (3 + vocab.historyLength) * 16), await sid.data())).toBe(0);
      tf.dispose([emb, text, sid]);
    });

    it.each([
      'gather',
      'host',
    ] as const)('incremental decoding with the KV cache (batched, left-padded, rows re-ordered by %s) equals a full forward', async (reorder) => {
      const histories = [[2, 9, 4], [11], [6, 1]];
      gen.cacheReorder = reorder;
      const dec = gen.decoder(histories);
      try {
        const V = vocab.size;
        let lp = await dec.first();
        let prefixes = histories.map((h) => gen.promptIds(h));
        const check = async () => {
          for (let r = 0; r < prefixes.length; r++) {
            const full = tf.tidy(() => {
              const out = gen.lm.forward({ inputsEmbeds: gen.embedIds([prefixes[r]!]), returnLogits: false });
              const T = prefixes[r]!.length;
              return gen.sidLogProbs(tf.slice(out.lastHiddenState, [0, T - 1, 0], [1, 1, -1]));
            });
            expect(maxAbsDiff(lp.slice(r * V, (r + 1) * V), await full.data())).toBeLessThan(20 * tol);
            full.dispose();
          }
        };
        await check();
        // Beams: user 0 twice, user 2 once (user 1 dropped), then a second step re-ordering again.
        const steps: [number[], number[]][] = [
          [
            [0, 0, 2],
            [1, 3, 0],
          ],
          [
            [2, 0, 0, 1],
            [5, 4, 6, 7],
          ],
        ];
        for (const [parents, tokens] of steps) {
          prefixes = parents.map((p, r) => [...prefixes[p]!, gen.textVocab + tokens[r]!]);
          lp = await dec.next(Int32Array.from(parents), Int32Array.from(tokens));
          await check();
        }
      } finally {
        dec.dispose();
        gen.cacheReorder = 'gather';
      }
    });

    it('beam width = number of items returns every item ranked by its exact sequence log-probability', async () => {
      const history = [3, 8];
      const [res] = await gen.recommend([history], { beamWidth: numItems, excludeHistory: false });
      const truth: { item: number; score: number }[] = [];
      for (let i = 1; i <= numItems; i++) truth.push({ item: i, score: await itemScore(gen, history, i) });
      truth.sort((a, b) => b.score - a.score);
      expect([...res!.items].sort((a, b) => a - b)).toEqual(truth.map((t) => t.item).sort((a, b) => a - b));
      res!.scores.forEach((s, i) => {
        expect(Math.abs(s - truth[i]!.score)).toBeLessThan(50 * tol);
      });
      // Order agrees wherever the true scores are not within float noise of each other.
      for (let i = 0; i < numItems; i++)
        if (truth.every((t, j) => j === i || Math.abs(t.score - truth[i]!.score) > 1e-3))
          expect(res!.items[i]).toBe(truth[i]!.item);
    });

    it('a batch of users decoded together (all beams in one forward, left-padded, cache copied on the host) equals each user decoded alone (tf.gather)', async () => {
      // Histories of different lengths (so the batch is padded), one repeated, one empty.
      const histories = [[3, 8, 1, 12, 5], [2], [6, 6, 9], [], [3, 8, 1, 12, 5], [14, 13]];
      gen.cacheReorder = 'host';
      const together = await gen.recommend(histories, { beamWidth: 6 });
      gen.cacheReorder = 'gather';
      for (const [u, h] of histories.entries()) {
        const [alone] = await gen.recommend([h], { beamWidth: 6 });
        expect(Array.from(together[u]!.items)).toEqual(Array.from(alone!.items));
        expect(maxAbsDiff(together[u]!.scores, alone!.scores)).toBeLessThan(50 * tol);
      }
      expect(Array.from(together[0]!.items)).toEqual(Array.from(together[4]!.items));
    });

    it('recommend hides the history, yields only catalogue items, and refuses a beam wider than the catalogue', async () => {
      const res = await gen.recommend([[3, 8, 1], [2]], { beamWidth: 5 });
      for (const [u, h] of [[3, 8, 1], [2]].entries()) {
        expect(res[u]!.items).toHaveLength(5);
        for (const it of res[u]!.items) {
          expect(h).not.toContain(it);
          expect(it >= 1 && it <= numItems).toBe(true);
        }
      }
      await expect(gen.recommend([[1]], { beamWidth: numItems + 1 })).rejects.toThrow(
        /beamWidth 15 exceeds the number of items in the trie \(14\)/,
      );
    });
  },
  {
    exclude: {
      webgpu:
        'every new sequence length compiles new shaders, so beam decoding on SwiftShader takes minutes; cpu and wasm cover it',
    },
  },
);
