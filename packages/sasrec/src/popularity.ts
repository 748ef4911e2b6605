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
  const row = Float32Array.from(frequency);
  const cols = row.length;
  return {
    name: 'popularity',
    numItems: cols - 1,
    score(histories) {
      // The same row for every user, copied on the host and uploaded once: tfjs's Tile kernel
      // took 2-3x as long as this copy on cpu and wasm (1024 x 12,088, apps/bench).
      const out = new Float32Array(histories.length * cols);
      for (let b = 0; b < histories.length; b++) out.set(row, b * cols);
      return tf.tensor2d(out, [histories.length, cols]);
    },
    // Every user's row is the same: evaluateRanking ranks it once per batch on the host.
    sharedScores: () => row,
    dispose() {},
  };
}
