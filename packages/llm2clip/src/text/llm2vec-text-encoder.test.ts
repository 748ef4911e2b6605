import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { readEmbeddingTable } from '../cache/embedding-table.js';
import { encodeItems } from '../encode-items.js';
import { TINY_CKPT, tinyAdapterConfig } from '../fixtures/llm2clip-tiny.js';
import { loadWeights, saveWeights } from '../weights/load-weights.js';
import { LLM2CLIP_ADAPTER_NAMES } from '../weights/text-adapter-names.js';
import { LlamaMeanPoolTextEncoder } from './llama-mean-pool-text-encoder.js';
import { llama3UserTemplate } from './llama3-user-template.js';
import { Llm2VecTextEncoder } from './llm2vec-text-encoder.js';
import { Llm2ClipTextAdapter } from './text-adapter.js';
import { charTokenizer, tinyLlama } from './tiny-llama.js';

const stories = sharedDir('models', 'stories260k');
const tmp = mkdtempSync(join(tmpdir(), 'llm2clip-l2v-'));
const titles = ['opi nail lacquer', 'shea butter hand cream', 'bb cream'];

async function tinyEncoder(options = {}) {
  const model = tinyLlama(tinyAdapterConfig.inputDim, 3);
  const adapter = new Llm2ClipTextAdapter(tinyAdapterConfig, { skipInit: true });
  await loadWeights(adapter, TINY_CKPT, LLM2CLIP_ADAPTER_NAMES);
  return {
    model,
    adapter,
    enc: new Llm2VecTextEncoder(model, charTokenizer, adapter, { modelName: 'tiny', ...options }),
  };
}

describeBackends('Llm2VecTextEncoder', ({ backend, tol }) => {
  it('= LLM2CLIP adapter(bidirectional mean pool), batch- and padding-invariant', async () => {
    const { model, adapter, enc } = await tinyEncoder();
    expect(enc.dim).toBe(tinyAdapterConfig.projectionDim);
    expect(enc.backbone.causal).toBe(false);
    const v = await enc.encode(titles);
    const pooled = await new LlamaMeanPoolTextEncoder(model, charTokenizer, { causal: false }).encode(titles);
    const ref = tf.tidy(() =>
      adapter.forward(tf.tensor2d(pooled, [titles.length, tinyAdapterConfig.inputDim])),
    );
    expect(maxAbsDiff(v, await ref.data())).toBeLessThan(5 * tol);
    const alone = await enc.encode([titles[2]!]);
    expect(maxAbsDiff(alone, v.subarray(2 * enc.dim))).toBeLessThan(10 * tol);
    ref.dispose();
    model.dispose();
    adapter.dispose();
  });

  it('uses no chat template by default; llama3-user wraps as LLM2Vec does', async () => {
    const { model, adapter, enc } = await tinyEncoder();
    charTokenizer.seen.length = 0;
    await enc.encode([' bb cream ']);
    expect(charTokenizer.seen).toEqual([' bb cream ']);
    const wrapped = new Llm2VecTextEncoder(model, charTokenizer, adapter, { chatTemplate: 'llama3-user' });
    charTokenizer.seen.length = 0;
    await wrapped.encode([' bb cream ']);
    expect(charTokenizer.seen).toEqual(['<|start_header_id|>user<|end_header_id|>\n\nbb cream<|eot_id|>']);
    expect(llama3UserTemplate('x')).toBe('<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>');
    expect(wrapped.name).toContain('template=llama3-user');
    model.dispose();
    adapter.dispose();
  });

  it('encodeItems caches the pre-adapter vectors separately from the adapter output', async () => {
    const { model, adapter, enc } = await tinyEncoder();
    const file = join(tmp, `items-${backend}.safetensors`);
    const items = titles.map((title, i) => ({ id: i + 1, title }));
    const r = await encodeItems(items, enc, { cacheFile: file, batchSize: 2 });
    const pre = await readEmbeddingTable(file.replace('.safetensors', '.backbone.safetensors'));
    expect([pre.dim, pre.encoder]).toEqual([tinyAdapterConfig.inputDim, enc.backbone.name]);
    const direct = await enc.encode(titles);
    expect(maxAbsDiff(r.table.data.subarray(enc.dim), direct)).toBeLessThan(10 * tol);
    expect(existsSync(file)).toBe(true);
    model.dispose();
    adapter.dispose();
  });
});

describeBackends(
  'Llm2VecTextEncoder.fromPretrained over stories260k',
  ({ backend, tol }) => {
    it.skipIf(!stories.path)(
      'fromPretrained: stories260k as the LLM, adapter from a checkpoint with LLM2CLIP names',
      async () => {
        const adapter = new Llm2ClipTextAdapter(
          { inputDim: 64, numBlocks: 1, projectionDim: 12 },
          { rng: new Rng(7) },
        );
        const file = join(tmp, `adapter64-${backend}.safetensors`);
        await saveWeights(file, adapter, { prefix: 'text_adapter.' });
        const enc = await Llm2VecTextEncoder.fromPretrained(stories.path!, file, {
          adapterConfig: { numBlocks: 1, projectionDim: 12 },
        });
        expect(enc.name).toBe(
          `llm2clip-text(llama-mean-pool(stories260k,bidirectional,max=512,template=none),adapter=adapter64-${backend}.safetensors)`,
        );
        const v = await enc.encode(['Lily went to the park.']);
        expect(v.length).toBe(12);
        const pre = await enc.backbone.encode(['Lily went to the park.']);
        expect(maxAbsDiff(await enc.head(pre, 1), v)).toBeLessThan(tol);
        await expect(Llm2VecTextEncoder.fromPretrained(stories.path!, file)).rejects.toThrow(
          /map to names the model does not have.*text_adapter\.adaptor\.1\.weight -> adaptor\.1\.weight/,
        );
        enc.dispose();
        adapter.dispose();
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
