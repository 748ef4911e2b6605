import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { MissingInputError } from '../errors.js';
import { LlamaMeanPoolTextEncoder } from './llama-mean-pool-text-encoder.js';
import { charTokenizer, tinyLlama } from './tiny-llama.js';

const stories = sharedDir('models', 'stories260k');
const texts = ['a cat', 'the quick brown fox jumps', 'zz', 'lily went to the park'];

describeBackends('LlamaMeanPoolTextEncoder', ({ tol }) => {
  it('is the mean of the final hidden states over the text tokens (no padding involved)', async () => {
    const model = tinyLlama();
    const enc = new LlamaMeanPoolTextEncoder(model, charTokenizer, { causal: false });
    const v = await enc.encode(['hello']);
    const ids = charTokenizer.encode('hello');
    const ref = tf.tidy(() => tf.mean(model.forward({ inputIds: [ids], causal: false }).lastHiddenState, 1));
    expect(maxAbsDiff(v, await ref.data())).toBeLessThan(tol);
    ref.dispose();
    model.dispose();
  });

  for (const causal of [true, false]) {
    it(`${causal ? 'causal' : 'bidirectional'}: a text gets the same vector alone, left-padded in any batch, and twice`, async () => {
      const model = tinyLlama(8, 1);
      const enc = new LlamaMeanPoolTextEncoder(model, charTokenizer, { causal });
      const batch = await enc.encode(texts);
      const again = await enc.encode(texts);
      expect(maxAbsDiff(batch, again)).toBe(0);
      const reversed = await enc.encode([...texts].reverse());
      for (let i = 0; i < texts.length; i++) {
        const row = batch.subarray(i * enc.dim, (i + 1) * enc.dim);
        const j = texts.length - 1 - i;
        expect(maxAbsDiff(reversed.subarray(j * enc.dim, (j + 1) * enc.dim), row)).toBeLessThan(5 * tol);
      }
      // The shortest text (most padding in the batch) and the longest (none), alone.
      for (const i of [2, 1]) {
        const alone = await enc.encode([texts[i]!]);
        expect(maxAbsDiff(alone, batch.subarray(i * enc.dim, (i + 1) * enc.dim))).toBeLessThan(5 * tol);
      }
      model.dispose();
    });
  }

  it('bidirectional attention changes the vectors (the first tokens see the later ones)', async () => {
    const model = tinyLlama(8, 2);
    const a = await new LlamaMeanPoolTextEncoder(model, charTokenizer, { causal: true }).encode(['abc']);
    const b = await new LlamaMeanPoolTextEncoder(model, charTokenizer, { causal: false }).encode(['abc']);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('truncates to maxLength, reports empty texts as missing, and names its settings', async () => {
    const model = tinyLlama();
    const enc = new LlamaMeanPoolTextEncoder(model, charTokenizer, { maxLength: 4, modelName: 'tiny' });
    expect(enc.tokenize('abcdefgh')).toEqual([1, 3, 4, 5]);
    expect(maxAbsDiff(await enc.encode(['abcdefgh']), await enc.encode(['abcxyz']))).toBe(0);
    const { missing } = await enc.encodeBatch(['ok', { id: 9, title: '  ' }]);
    expect(missing).toEqual([{ index: 1, id: 9, reason: 'empty text' }]);
    await expect(enc.encode([''])).rejects.toBeInstanceOf(MissingInputError);
    expect(enc.name).toBe('llama-mean-pool(tiny,causal,max=4,template=none)');
    expect(() => new LlamaMeanPoolTextEncoder(model, charTokenizer, { padId: 40 })).toThrow(/padId 40/);
    model.dispose();
  });
});

describeBackends(
  'LlamaMeanPoolTextEncoder over stories260k',
  ({ tol }) => {
    it.skipIf(!stories.path)(
      'over stories260k (llama2.c tokenizer): 64-d, finite, padding-invariant',
      async () => {
        const enc = await LlamaMeanPoolTextEncoder.fromPretrained(stories.path!);
        expect(enc.dim).toBe(64);
        expect(enc.name).toBe('llama-mean-pool(stories260k,causal,max=512,template=none)');
        const titles = ['OPI Nail Lacquer, Simmer and Shimmer', 'Lily went to the park.'];
        const v = await enc.encode(titles);
        expect(v.every(Number.isFinite)).toBe(true);
        const alone = await enc.encode([titles[1]!]);
        expect(maxAbsDiff(alone, v.subarray(64))).toBeLessThan(5 * tol);
        enc.dispose();
      },
    );
  },
  {
    exclude: {
      webgpu:
        'stories260k titles are ~50 tokens: minutes on SwiftShader; the tiny-Llama suite above covers webgpu',
    },
  },
);
