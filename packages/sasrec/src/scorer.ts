import type { tf } from '@mmesid/tensor';

/**
 * Anything that scores every item index 0..numItems for a batch of users given their input
 * histories (oldest item first). SASRec, a bare embedding table and popularity all implement it, so
 * they are evaluated by the same ranking code.
 */
export interface HistoryScorer {
  /** A short label for reports. */
  readonly name: string;
  /** The largest item id; `score` returns `numItems + 1` columns (column 0 is padding). */
  readonly numItems: number;
  /**
   * Scores [B, numItems + 1] for B histories. The caller owns (and disposes) the result. A history
   * may be longer than the scorer reads (SASRec keeps its last `maxLen` items) and may be empty.
   */
  score(histories: readonly ArrayLike<number>[]): tf.Tensor2D;
  /**
   * For a scorer that gives every user the same `numItems + 1` scores (popularity): that row.
   * `evaluateRanking` then ranks on the host (`@mmesid/metrics`' `rankTargetsShared`, the same
   * ranks) instead of scoring a [B, numItems + 1] matrix per batch.
   */
  sharedScores?(): Float32Array;
}
