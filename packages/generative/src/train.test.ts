import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { loadGenerative, saveGenerative } from './checkpoint.js';
import { SidVocabularyMismatchError } from './errors.js';
import { GenerativeRecommender } from './generative-model.js';
import { randomCodes, tinyLlama } from './internal/test-fixtures.js';
import { SidVocabulary } from './sid-vocabulary.js';
import { trainGenerative } from './train.js';

const numItems = 12;
const codes = randomCodes(numItems, 2, 4, 16, 'train');
const vocab = SidVocabulary.build({ collaborative: codes });
const prompt = { prefix: [1, 5], suffix: [7] };

/** Synthetic sequences with a learnable rule: the next item is (last item mod 12) + 1. */
function examples(n: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 1 + rng.int(3);
    const history = Array.from({ length: len }, () => 1 + rng.int(numItems));
    return { history, target: (history[len - 1]! % numItems) + 1 };
  });
}

describeBackends(
  'trainGenerative and checkpoints',
  ({ tol }) => {
    it('a few steps of next-token training on the target SIDs reduce the loss (LoRA + new tokens only) and leak nothing', async () => {
      const gen = await GenerativeRecommender.create({ lm: tinyLlama(), vocab, prompt, seed: 2 });
      try {
        const data = examples(32, 1);
        const before = tf.tidy(() => gen.loss(data));
        const base = gen.lm.getModule('model.layers.0.self_attn.q_proj')!.stateDict();
        const baseBefore = await base.weight!.data();
        const res = await trainGenerative(gen, data, { epochs: 6, batchSize: 16, lr: 2e-2, warmupSteps: 0 });
        const after = tf.tidy(() => gen.loss(data));
        const [b, a] = [(await before.data())[0]!, (await after.data())[0]!];
        tf.dispose([before, after]);
        expect(res.steps).toBe(12);
        expect(a).toBeLessThan(0.8 * b);
        expect(res.epochLoss[5]!).toBeLessThan(res.epochLoss[0]!);
        // The base Llama is frozen: a projection without LoRA keeps its weights.
        expect(maxAbsDiff(await base.weight!.data(), baseBefore)).toBe(0);
        expect(
          [...gen.trainableParameters().keys()].every(
            (k) => k.includes('lora_') || k.startsWith('sid_tokens.'),
          ),
        ).toBe(true);
      } finally {
        gen.dispose();
      }
    });

    it('save then load gives the same log-probs; a checkpoint for other SIDs or another Llama is refused naming both', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gen-ckpt-'));
      const gen = await GenerativeRecommender.create({ lm: tinyLlama(), vocab, prompt, seed: 3 });
      let loaded: GenerativeRecommender | null = null;
      try {
        await trainGenerative(gen, examples(8, 2), { epochs: 1, batchSize: 4, lr: 1e-2, warmupSteps: 0 });
        await saveGenerative(gen, join(dir, 'ckpt'));
        loaded = await loadGenerative(join(dir, 'ckpt'), { lm: tinyLlama(), vocab });
        gen.eval();
        loaded.eval();
        const h = [[3, 4], [9]];
        const [x, y] = [
          await gen.recommend(h, { beamWidth: 6 }),
          await loaded.recommend(h, { beamWidth: 6 }),
        ];
        for (let u = 0; u < 2; u++) {
          expect(Array.from(y[u]!.items)).toEqual(Array.from(x[u]!.items));
          expect(maxAbsDiff(y[u]!.scores, x[u]!.scores)).toBeLessThan(10 * tol);
        }
        const other = SidVocabulary.build({ collaborative: randomCodes(numItems, 2, 4, 16, 'other') });
        const lm2 = tinyLlama();
        await expect(loadGenerative(join(dir, 'ckpt'), { lm: lm2, vocab: other })).rejects.toThrow(
          SidVocabularyMismatchError,
        );
        await expect(loadGenerative(join(dir, 'ckpt'), { lm: lm2, vocab: other })).rejects.toThrow(
          /checkpoint .*ckpt has .*, the semantic-ID tokenizer gives/,
        );
        lm2.dispose();
      } finally {
        gen.dispose();
        loaded?.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
  { exclude: { webgpu: 'training a Llama on SwiftShader takes minutes; cpu and wasm cover it' } },
);
