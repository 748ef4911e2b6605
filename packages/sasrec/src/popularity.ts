import { tf } from '@mmesid/tensor';
import type { DisposableScorer } from './table-scorer.js';

/**
 * The popularity baseline: every user gets the same scores, the item's count as a training
 * target (`@mmesid/datasets`' `itemFrequency`), so the most frequent unseen item ranks first.
 * Ties (equal counts) rank against the target, as everywhere in `@mmesid/metrics`.
 *
 * @example
 * const pop = popularityScorer(itemFrequency(split.train, split.numItems));
 * const m = await evaluateRanking(pop, split.test);
 * pop.dispose();
 */
export function popularityScorer(frequency: ArrayLike<number>): DisposableScorer {
  const row = tf.tensor2d(Float32Array.from(frequency), [1, frequency.length]);
  return {
    name: 'popularity',
    numItems: frequency.length - 1,
    score(histories) {
      return tf.tidy(() => tf.tile(row, [histories.length, 1]) as tf.Tensor2D);
    },
    dispose() {
      row.dispose();
    },
  };
}
