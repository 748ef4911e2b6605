import { topKRecommendations } from '@mmesid/metrics';
import { tf } from '@mmesid/tensor';
import type { MmeSidModel } from './model.js';

/** The top-k items for one history. */
export interface Recommendation {
  /** Item ids, best first (history items and padding never appear). */
  items: number[];
  /** Their scores. */
  scores: number[];
  /** Names of the fusion terms, the keys of each `weights` entry (`target`, then the modalities). */
  terms: string[];
  /** Each recommended item's fusion weights over `terms` (they sum to 1). */
  weights: number[][];
}

/**
 * Scores every item for a history and returns the k best that are not in it, with each one's
 * fusion weights (how much the learned table and each modality decide its score).
 *
 * @example
 * const rec = await recommend(model, [12, 40, 7], 10);
 * rec.items[0]; rec.weights[0]; // e.g. [0.02, 0.9, 0.05, 0.03] over ['target', 'collaborative', 'visual', 'text']
 */
export async function recommend(
  model: MmeSidModel,
  history: ArrayLike<number>,
  k: number,
): Promise<Recommendation> {
  model.eval();
  const scores = model.score([history]);
  const weights = model.fusionWeights();
  try {
    const top = await topKRecommendations(scores, k, [history]);
    const items = Array.from(top.items[0]!);
    let rows: number[][] = [];
    if (items.length) {
      const g = tf.tidy(() => tf.gather(weights, tf.tensor1d(items, 'int32')));
      rows = (await g.array()) as number[][];
      g.dispose();
    }
    return { items, scores: Array.from(top.scores[0]!), terms: model.termNames, weights: rows };
  } finally {
    scores.dispose();
    weights.dispose();
  }
}
