import { ConfigError, ShapeError, tf } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';

/** The top-k items of each row, best first. */
export interface Recommendations {
  /** `items[b]` holds row b's k item ids (fewer when the row has fewer than k rankable items). */
  readonly items: Int32Array[];
  /** `scores[b][i]` is the score of `items[b][i]`. */
  readonly scores: Float32Array[];
}

/** Options of {@link topKRecommendations}. */
export interface TopKOptions {
  /** Never recommend padding index 0 (default true: it is not an item). */
  excludePadding?: boolean;
}

/**
 * The k best-scoring items of each row, leaving out the row's history items (and padding index 0
 * unless `excludePadding: false`), for showing recommendations. Runs `tf.topk` on the backend
 * over k + (the batch's longest exclusion list) columns and drops excluded ids in JS, so the result
 * is exact without building a [B, numItems] mask.
 *
 * Equal scores come out in `tf.topk`'s order (lower index first on cpu and wasm); for metrics use
 * {@link rankTargets}, whose tie rule is stated. Does not dispose `scores`.
 *
 * @example
 * const { items } = await topKRecommendations(scores, 10, batch.map((e) => e.history));
 * items[0]; // Int32Array of 10 item ids for the first user
 */
export async function topKRecommendations(
  scores: tf.Tensor,
  k: number,
  histories?: readonly ArrayLike<number>[],
  options: TopKOptions = {},
): Promise<Recommendations> {
  if (!Number.isInteger(k) || k < 1)
    throw new ConfigError(`topKRecommendations: k must be an integer >= 1, got ${k}`);
  if (scores.rank !== 2) {
    throw new ShapeError(
      `topKRecommendations: scores must be [batch, numItems + 1], got shape [${scores.shape}]`,
    );
  }
  const [batch, cols] = scores.shape as [number, number];
  if (histories && histories.length !== batch) {
    throw new ShapeError(
      `topKRecommendations: scores have ${batch} rows but ${histories.length} histories were given`,
    );
  }
  const excludePadding = options.excludePadding ?? true;
  const excluded: Set<number>[] = [];
  let most = 0;
  for (let b = 0; b < batch; b++) {
    const set = new Set<number>();
    if (excludePadding) set.add(0);
    const h = histories?.[b] ?? [];
    for (let i = 0; i < h.length; i++) {
      const j = h[i]!;
      if (!Number.isInteger(j) || j < 0 || j >= cols) {
        throw new MetricsInputError(
          `topKRecommendations: histories[${b}][${i}] is ${j}; history ids must be integers in 0..${cols - 1}`,
        );
      }
      if (j !== 0) set.add(j);
    }
    excluded.push(set);
    most = Math.max(most, set.size);
  }
  const width = Math.min(cols, k + most);
  const { values, indices } = tf.topk(scores, width, true);
  let v: ArrayLike<number>;
  let ix: ArrayLike<number>;
  try {
    [v, ix] = await Promise.all([values.data(), indices.data()]);
  } finally {
    tf.dispose([values, indices]);
  }
  const items: Int32Array[] = [];
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const rowItems: number[] = [];
    const rowScores: number[] = [];
    for (let i = 0; i < width && rowItems.length < k; i++) {
      const id = ix[b * width + i]!;
      if (excluded[b]!.has(id)) continue;
      rowItems.push(id);
      rowScores.push(v[b * width + i]!);
    }
    items.push(Int32Array.from(rowItems));
    out.push(Float32Array.from(rowScores));
  }
  return { items, scores: out };
}
