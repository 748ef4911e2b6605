import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, saveSafetensors, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { WeightNameError } from '../errors.js';
import { TINY_CKPT, tinyAdapterConfig, tinyRef } from '../fixtures/llm2clip-tiny.js';
import { loadWeights, saveWeights } from '../weights/load-weights.js';
import { LLM2CLIP_ADAPTER_NAMES } from '../weights/text-adapter-names.js';
import { Llm2ClipTextAdapter } from './text-adapter.js';

const tmp = mkdtempSync(join(tmpdir(), 'llm2clip-adapter-'));

describeBackends('Llm2ClipTextAdapter', ({ backend, tol }) => {
  it('loads the LLM2CLIP checkpoint names and matches the numpy reference', async () => {
    const adapter = new Llm2ClipTextAdapter(tinyAdapterConfig, { skipInit: true });
    const report = await loadWeights(adapter, TINY_CKPT, LLM2CLIP_ADAPTER_NAMES);
    expect(report.loaded).toBe(2 * 6 + 4);
    // The vision tower, position_ids and logit_scale are skipped on purpose, by name.
    expect([...report.ignored.keys()]).toContain('logit_scale');
    expect([...report.ignored.keys()]).toContain('vision_model.embeddings.position_ids');
    const x = tf.tensor2d(tinyRef.adapter_input, [3, tinyAdapterConfig.inputDim]);
    const y = adapter.forward(x);
    expect(y.shape).toEqual([3, tinyAdapterConfig.projectionDim]);
    expect(maxAbsDiff(await y.data(), tinyRef.adapter_output)).toBeLessThan(20 * tol);
    tf.dispose([x, y]);
    adapter.dispose();
  });

  it('is the same for a row alone or in a batch, and invariant to the input scale (L2 first)', async () => {
    const adapter = new Llm2ClipTextAdapter(tinyAdapterConfig, { rng: new Rng(1) });
    const x = tf.tensor2d(tinyRef.adapter_input, [3, tinyAdapterConfig.inputDim]);
    const all = adapter.forward(x);
    const one = tf.tidy(() => adapter.forward(tf.slice(x, [1, 0], [1, -1])));
    const scaled = tf.tidy(() => adapter.forward(tf.mul(x, 7.5)));
    const a = await all.data();
    expect(maxAbsDiff(await one.data(), a.slice(12, 24))).toBeLessThan(10 * tol);
    expect(maxAbsDiff(await scaled.data(), a)).toBeLessThan(10 * tol);
    tf.dispose([x, all, one, scaled]);
    adapter.dispose();
  });

  it('round-trips through safetensors under the checkpoint names', async () => {
    const a = new Llm2ClipTextAdapter(tinyAdapterConfig, { rng: new Rng(2) });
    const file = join(tmp, `adapter-${backend}.safetensors`);
    await saveWeights(file, a, { prefix: 'text_adapter.' });
    const b = new Llm2ClipTextAdapter(tinyAdapterConfig, { skipInit: true });
    await loadWeights(b, file, LLM2CLIP_ADAPTER_NAMES);
    const x = tf.tensor2d(tinyRef.adapter_input, [3, tinyAdapterConfig.inputDim]);
    const ya = a.forward(x);
    const yb = b.forward(x);
    expect(maxAbsDiff(await ya.data(), await yb.data())).toBe(0);
    tf.dispose([x, ya, yb]);
    a.dispose();
    b.dispose();
  });

  it('fails loudly, assigning nothing, on unknown, missing or mis-shaped tensors', async () => {
    const a = new Llm2ClipTextAdapter(tinyAdapterConfig, { rng: new Rng(3) });
    const sd = a.stateDict();
    const named = (prefix: string) =>
      Object.fromEntries(Object.entries(sd).map(([k, v]) => [`${prefix}${k}`, v]));
    const unknown = join(tmp, `unknown-${backend}.safetensors`);
    const extra = tf.zeros([2]);
    await saveSafetensors(unknown, { ...named('text_adapter.'), 'text_adapter.extra_gate.weight': extra });
    extra.dispose();
    const b = new Llm2ClipTextAdapter(tinyAdapterConfig, { skipInit: true });
    const before = await b.stateDict()['adaptor.0.ln.weight']!.data();
    await expect(loadWeights(b, unknown, LLM2CLIP_ADAPTER_NAMES)).rejects.toThrow(
      /match no rule.*text_adapter\.extra_gate\.weight/,
    );
    const missing = join(tmp, `missing-${backend}.safetensors`);
    const partial = named('text_adapter.');
    delete partial['text_adapter.adaptor.3.bias'];
    await saveSafetensors(missing, partial);
    const err = await loadWeights(b, missing, LLM2CLIP_ADAPTER_NAMES).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightNameError);
    expect((err as Error).message).toMatch(/not in the checkpoint: adaptor\.3\.bias/);
    const wide = new Llm2ClipTextAdapter({ ...tinyAdapterConfig, projectionDim: 5 }, { skipInit: true });
    await expect(loadWeights(wide, TINY_CKPT, LLM2CLIP_ADAPTER_NAMES)).rejects.toThrow(
      /adaptor\.3\.weight is \[12,8\], adaptor\.3\.weight needs \[5,8\]/,
    );
    expect([...(await b.stateDict()['adaptor.0.ln.weight']!.data())]).toEqual([...before]);
    a.dispose();
    b.dispose();
    wide.dispose();
  });
});
