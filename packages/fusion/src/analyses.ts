import {
  type DistanceMetric,
  type DistanceOrderTau,
  distanceOrderTau,
  type ItemPairs,
  type SingularValueSpectrum,
  singularValues,
} from '@mmesid/metrics';
import { MmesidError, tf } from '@mmesid/tensor';
import type { ItemTable } from './item-data.js';
import type { MmeSidModel } from './model.js';

/**
 * The semantic-ID embedding of every item of a modality: the sum of its L level embeddings, in the
 * code space (before any learned projection), as an (N + 1) x width table. Row 0 is padding.
 */
export async function sidEmbeddingTable(model: MmeSidModel, modality = 'collaborative'): Promise<ItemTable> {
  const sid = model.itemTokenizer.sidEmbedding(modality);
  if (!sid)
    throw new MmesidError(`sidEmbeddingTable: the model has no semantic-ID embeddings for "${modality}"`);
  const t = tf.tidy(() => sid.summed(tf.range(0, model.numItems + 1, 1, 'int32')));
  try {
    return { rows: t.shape[0], cols: t.shape[1], data: (await t.data()) as Float32Array };
  } finally {
    t.dispose();
  }
}

/**
 * Kendall's tau-b between the distances of item pairs in the original embedding space (e.g. SASRec's
 * collaborative table) and in the space of the model's SID embeddings of the same modality (sum of
 * the L level embeddings per item). Call it before and after fine-tuning: the paper measures
 * 0.4436 -> 0.2727 on Beauty with the codebook init, and 0.0508 after fine-tuning with random init
 * (catastrophic forgetting of the quantised embeddings).
 *
 * @param pairs item pairs, e.g. `behaviouralPairs(split.test)` or `randomItemPairs(N, 50_000, { seed })` from @mmesid/metrics
 * @see MME-SID catastrophic-forgetting analysis (Kendall's tau of pairwise distances)
 * @example
 * const pairs = randomItemPairs(N, 20_000, { seed: 1 });
 * const before = await sidDistanceTau(model, tables.collaborative, pairs);
 * await trainMmeSid(model, split.train, cfg);
 * const after = await sidDistanceTau(model, tables.collaborative, pairs);
 */
export async function sidDistanceTau(
  model: MmeSidModel,
  original: ItemTable,
  pairs: ItemPairs,
  opts: { modality?: string; metric?: DistanceMetric } = {},
): Promise<DistanceOrderTau> {
  const sid = await sidEmbeddingTable(model, opts.modality ?? 'collaborative');
  return distanceOrderTau(original, sid, pairs, { metric: opts.metric ?? 'euclidean' });
}

/** The spectra of {@link embeddingSpectra}. */
export interface EmbeddingSpectra {
  /** Singular values of the input item tokens of items 1..N (what the LLM reads; N x tokensPerItem rows). */
  itemTokens: SingularValueSpectrum;
  /** Singular values of the target-item table rows 1..N. */
  targetTable: SingularValueSpectrum;
}

/**
 * Singular-value spectra (descending, normalised by the largest, log10) of the item tokens the LLM
 * reads and of the target-item table, the paper's embedding-collapse diagnostic: a collapsed table
 * has a few large values and a long tail near zero.
 *
 * @see MME-SID Fig. 3b (normalised singular values, log scale)
 * @example
 * const { itemTokens, targetTable } = await embeddingSpectra(model);
 * itemTokens.log10; // for the plot
 */
export async function embeddingSpectra(
  model: MmeSidModel,
  opts: { batch?: number } = {},
): Promise<EmbeddingSpectra> {
  const N = model.numItems;
  const d = model.hidden;
  const k = model.tokens.tokensPerItem;
  const batch = opts.batch ?? 1024;
  const tokens = new Float32Array(N * k * d);
  for (let start = 1; start <= N; start += batch) {
    const end = Math.min(N + 1, start + batch);
    const t = tf.tidy(() => model.itemTokenizer.forward(tf.range(start, end, 1, 'int32')));
    try {
      tokens.set((await t.data()) as Float32Array, (start - 1) * k * d);
    } finally {
      t.dispose();
    }
  }
  // T is stored transposed ([d, N + 1]); take rows 1..N of T itself.
  const tt = (await model.head.targetTableT.data()) as Float32Array;
  const target = new Float32Array(N * d);
  for (let c = 0; c < d; c++) for (let i = 1; i <= N; i++) target[(i - 1) * d + c] = tt[c * (N + 1) + i]!;
  return {
    itemTokens: await singularValues({ rows: N * k, cols: d, data: tokens }),
    targetTable: await singularValues({ rows: N, cols: d, data: target }),
  };
}
