/**
 * Test fixtures: a small synthetic dataset from @mmesid/datasets (60 items), seeded item tables
 * for three modalities, semantic IDs with codebooks, and a tiny random Llama (d = 32, 2 layers) with
 * a short prompt, so every numerical test runs in seconds on WASM.
 */
import { generateSynthetic, itemFrequency, leaveOneOut, type SyntheticDataset } from '@mmesid/datasets';
import { LlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { Rng } from '@mmesid/tensor';
import type { FusionConfigInput } from '../config.js';
import { createFromConfig } from '../create.js';
import type { ItemTable, SemanticIds } from '../item-data.js';
import type { MmeSidModel } from '../model.js';
import { promptFromIds } from '../prompt.js';

export const TINY_LLAMA = parseLlamaConfig({
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
});

export interface TinyData {
  dataset: SyntheticDataset;
  split: ReturnType<typeof leaveOneOut>;
  numItems: number;
  tables: Record<string, ItemTable>;
  semanticIds: SemanticIds;
  frequency: Int32Array;
}

let cached: TinyData | undefined;

/** The shared data (plain typed arrays, nothing to dispose). */
export function tinyData(): TinyData {
  if (cached) return cached;
  const dataset = generateSynthetic({
    seed: 7,
    numUsers: 40,
    numItems: 60,
    numClusters: 5,
    meanSequenceLength: 6,
    minSequenceLength: 3,
    maxSequenceLength: 10,
    visualDim: 12,
  });
  const N = dataset.numItems;
  const rng = new Rng('fusion-fixture');
  const table = (cols: number): ItemTable => {
    const data = rng.fillNormal(new Float32Array((N + 1) * cols), 0, 0.5);
    data.fill(0, 0, cols); // padding row
    return { rows: N + 1, cols, data };
  };
  const tables = { collaborative: table(16), visual: dataset.visual, text: table(20) };
  const L = 3;
  const K = 8;
  const e = 24;
  const semanticIds: Record<string, SemanticIds[string]> = {};
  for (const m of Object.keys(tables)) {
    const ids = new Int32Array((N + 1) * L);
    for (let i = L; i < ids.length; i++) ids[i] = rng.int(K);
    semanticIds[m] = {
      ids,
      levels: L,
      codebookSize: K,
      dim: e,
      codebooks: rng.fillNormal(new Float32Array(L * K * e), 0, 0.3),
    };
  }
  const split = leaveOneOut(dataset);
  cached = { dataset, split, numItems: N, tables, semanticIds, frequency: itemFrequency(split.train, N) };
  return cached;
}

/** A fresh tiny random Llama (the model built from it takes ownership). */
export function tinyLlama(seed = 1): LlamaModel {
  return new LlamaModel(TINY_LLAMA, { rng: new Rng(`tiny-llama:${seed}`) });
}

/** Short prompt ids for the tiny vocabulary: BOS-like 1, three "instruction" tokens, a 2-token response header. */
export const TINY_PREFIX = [1, 17, 23, 5];
export const TINY_SUFFIX = [40, 41];

/** An MME-SID model (or a variant's config) on the tiny data. */
export async function tinyModel(config: FusionConfigInput = {}, seed = 1): Promise<MmeSidModel> {
  const d = tinyData();
  const itemsAtEnd = config.itemsAtEnd ?? false;
  return createFromConfig({
    config: { seed, ...config },
    numItems: d.numItems,
    tables: d.tables,
    semanticIds: d.semanticIds,
    frequency: d.frequency,
    llama: tinyLlama(seed),
    prompt: promptFromIds(TINY_PREFIX, itemsAtEnd ? [] : TINY_SUFFIX),
  });
}
