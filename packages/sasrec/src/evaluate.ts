import type { Example } from '@mmesid/datasets';
import { FullRankingEvaluator, type RankingMetrics } from '@mmesid/metrics';
import type { HistoryScorer } from './scorer.js';

/** Options of {@link evaluateRanking}. */
export interface EvaluateOptions {
  /** Users scored per batch (default 512): the [batch, numItems + 1] score matrix is the peak memory. */
  batchSize?: number;
  /** Cut-offs (default the paper's 5, 10, 20). */
  ks?: number[];
  /** Rank among real items only (default false: index 0 is ranked too, as the authors do). */
  excludePadding?: boolean;
  /** Called after each batch with the number of users done. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once at the end with each example's 1-based rank of its target, in the order of
   * `examples` (for metrics on a subset of the users, e.g. `metricsFromRanks` of some of them).
   */
  onRanks?: (ranks: Int32Array) => void;
}

/**
 * Full-ranking evaluation of any {@link HistoryScorer} on leave-one-out examples (the validation
 * or test pairs of `@mmesid/datasets`' `leaveOneOut`), through `@mmesid/metrics`'
 * `FullRankingEvaluator`: every item index is scored, every item of the user's whole input history
 * is excluded, ties count against the target, and HR/nDCG/MRR@k are summed over users and divided
 * by the number of users, as the authors' `inference.py` does.
 *
 * @example
 * const test = await evaluateRanking(sasrecScorer(model), split.test);
 * test.hr[10]; test.ndcg[10];
 */
export async function evaluateRanking(
  scorer: HistoryScorer,
  examples: readonly Example[],
  options: EvaluateOptions = {},
): Promise<RankingMetrics> {
  const batchSize = options.batchSize ?? 512;
  const ev = new FullRankingEvaluator({
    numItems: scorer.numItems,
    ...(options.ks ? { ks: options.ks } : {}),
    ...(options.excludePadding !== undefined ? { excludePadding: options.excludePadding } : {}),
  });
  // Users of similar history length share a batch, so a sequence model pads little; the metrics are
  // averages over users and do not depend on the order.
  const order = examples
    .map((e, i) => [e.history.length, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sorted = order.map(([, i]) => examples[i]!);
  const shared = scorer.sharedScores?.();
  for (let start = 0; start < sorted.length; start += batchSize) {
    const part = sorted.slice(start, start + batchSize);
    const histories = part.map((e) => e.history);
    if (shared) {
      ev.updateShared(
        shared,
        part.map((e) => e.target),
        histories,
      );
      options.onProgress?.(Math.min(examples.length, start + batchSize), examples.length);
      continue;
    }
    const scores = scorer.score(histories);
    try {
      await ev.update(
        scores,
        part.map((e) => e.target),
        histories,
      );
    } finally {
      scores.dispose();
    }
    options.onProgress?.(Math.min(examples.length, start + batchSize), examples.length);
  }
  if (options.onRanks) {
    // The evaluator holds the ranks in the length-sorted order; put them back in the input order.
    const sortedRanks = ev.ranks();
    const ranks = new Int32Array(sortedRanks.length);
    for (let j = 0; j < order.length; j++) ranks[order[j]![1]] = sortedRanks[j]!;
    options.onRanks(ranks);
  }
  return ev.compute();
}
