import { FullRankingEvaluator, type RankingMetrics } from '@mmesid/metrics';
import { MmesidError } from '@mmesid/tensor';
import type { MmeSidModel } from './model.js';

/** One held-out pair: `@mmesid/datasets`' `Example` (`leaveOneOut(dataset).test`). */
export interface EvaluationPair {
  readonly history: ArrayLike<number>;
  readonly target: number;
}

/** Options of {@link evaluateMmeSid}. */
export interface EvaluateOptions {
  /** Histories per forward pass (default 8). */
  batchSize?: number;
  /** Cut-offs (default 5, 10, 20 as the paper). */
  ks?: number[];
  /** Called after each batch with (users done, users in total). */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link evaluateMmeSid} returns. */
export interface EvaluationResult {
  /** HR/nDCG/MRR/... at each k, averaged over all users (`metrics.hr[10]`, `metrics.ndcg[20]`, ...). */
  metrics: RankingMetrics;
  /** Each user's 1-based rank of the held-out item, in input order. */
  ranks: Int32Array;
  seconds: number;
}

/**
 * Full-ranking evaluation with `@mmesid/metrics`' `FullRankingEvaluator`, the authors' protocol:
 * every item id 0..N is scored, the user's history is excluded, the held-out target is ranked against
 * everything else (ties count against it), and HR/nDCG@k are averaged over users. The model is put
 * in eval mode (no dropout).
 *
 * @example
 * const { metrics } = await evaluateMmeSid(model, split.test);
 * metrics.ndcg[10];
 */
export async function evaluateMmeSid(
  model: MmeSidModel,
  pairs: readonly EvaluationPair[],
  opts: EvaluateOptions = {},
): Promise<EvaluationResult> {
  if (pairs.length === 0) throw new MmesidError('evaluateMmeSid: no pairs to evaluate');
  const batchSize = opts.batchSize ?? 8;
  const ev = new FullRankingEvaluator({ numItems: model.numItems, ...(opts.ks ? { ks: opts.ks } : {}) });
  const t0 = performance.now();
  model.eval();
  for (let i = 0; i < pairs.length; i += batchSize) {
    const batch = pairs.slice(i, i + batchSize);
    const scores = model.score(batch.map((p) => p.history));
    try {
      await ev.update(
        scores,
        batch.map((p) => p.target),
        batch.map((p) => p.history),
      );
    } finally {
      scores.dispose();
    }
    opts.onProgress?.(Math.min(i + batchSize, pairs.length), pairs.length);
  }
  return { metrics: ev.compute(), ranks: ev.ranks(), seconds: (performance.now() - t0) / 1000 };
}
