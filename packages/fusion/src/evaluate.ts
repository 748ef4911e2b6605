import { FullRankingEvaluator, type RankingMetrics } from '@mmesid/metrics';
import { MmesidError } from '@mmesid/tensor';
import { FrozenScorer } from './inference.js';
import type { MmeSidModel } from './model.js';

/** One held-out pair: `@mmesid/datasets`' `Example` (`leaveOneOut(dataset).test`). */
export interface EvaluationPair {
  readonly history: ArrayLike<number>;
  readonly target: number;
}

/** Options of {@link evaluateMmeSid}. */
export interface EvaluateOptions {
  /** At most this many histories per forward pass (default 8). */
  batchSize?: number;
  /**
   * With `order: 'length'`, a batch also stops growing before its padded item tokens (users x the
   * longest history's tokens) would pass this budget (default 512; a single user always fits). Long
   * histories then go in smaller batches, short ones in batches of `batchSize`.
   */
  batchTokens?: number;
  /**
   * `'length'` (default): batches are cut from the users sorted by history length (stable), so a
   * batch is padded to about its own length instead of its longest member's; `'input'`: batches of
   * `batchSize` in input order (no token budget; the order before the frozen scorer). Ranks and
   * metrics are reported in input order either way.
   */
  order?: 'length' | 'input';
  /**
   * `'frozen'` (default): score through a {@link FrozenScorer} (prefix keys/values, item tokens and
   * fusion weights computed once for the whole evaluation); `'model'`: `model.score` per batch
   * (recomputes them every batch; the reference the frozen path is tested against).
   */
  scorer?: 'frozen' | 'model';
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
 * The batches {@link evaluateMmeSid} cuts with `order: 'length'`: user indices sorted by history
 * length (stable), then greedily grouped: at most `batchSize` users, and more than one user only
 * while users x the longest history's item tokens (`lengths[i] x tokensPerItem`) stays within
 * `batchTokens`. Returns each batch's user indices (into `lengths`), in scoring order.
 *
 * @example
 * lengthBatches([3, 1, 8, 2], 2, 10); // [[1, 3], [0], [2]]
 */
export function lengthBatches(
  lengths: ArrayLike<number>,
  batchSize: number,
  batchTokens: number,
  tokensPerItem = 1,
): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  // Array.prototype.sort is stable: equal lengths keep their input order.
  order.sort((a, b) => lengths[a]! - lengths[b]!);
  const out: number[][] = [];
  for (let i = 0; i < order.length; ) {
    const end = Math.min(i + batchSize, order.length);
    // Sorted: the last user of a batch is its longest, so the padded size is users x its length.
    let n = 1;
    while (i + n < end && (n + 1) * lengths[order[i + n]!]! * tokensPerItem <= batchTokens) n++;
    out.push(order.slice(i, i + n));
    i += n;
  }
  return out;
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
  const batchTokens = opts.batchTokens ?? 512;
  for (const [name, v] of [
    ['batchSize', batchSize],
    ['batchTokens', batchTokens],
  ] as const)
    if (!Number.isInteger(v) || v < 1)
      throw new MmesidError(`evaluateMmeSid: ${name} must be a positive integer, got ${v}`);
  const ev = new FullRankingEvaluator({ numItems: model.numItems, ...(opts.ks ? { ks: opts.ks } : {}) });
  const t0 = performance.now();
  model.eval();
  const batches =
    (opts.order ?? 'length') === 'length'
      ? lengthBatches(
          pairs.map((p) => p.history.length),
          batchSize,
          batchTokens,
          model.itemTokenizer.tokensPerItem,
        )
      : Array.from({ length: Math.ceil(pairs.length / batchSize) }, (_, b) =>
          Array.from(
            { length: Math.min(batchSize, pairs.length - b * batchSize) },
            (_, i) => b * batchSize + i,
          ),
        );
  const scorer = (opts.scorer ?? 'frozen') === 'frozen' ? new FrozenScorer(model) : null;
  const ranks = new Int32Array(pairs.length);
  let done = 0;
  try {
    for (const idx of batches) {
      const batch = idx.map((j) => pairs[j]!);
      const histories = batch.map((p) => p.history);
      const scores = scorer ? scorer.score(histories) : model.score(histories);
      let got: Int32Array;
      try {
        got = await ev.update(
          scores,
          batch.map((p) => p.target),
          histories,
        );
      } finally {
        scores.dispose();
      }
      got.forEach((r, b) => {
        ranks[idx[b]!] = r;
      });
      done += idx.length;
      opts.onProgress?.(done, pairs.length);
    }
  } finally {
    scorer?.dispose();
  }
  // Metrics over the ranks in input order (the evaluator above saw them in batch order).
  ev.reset();
  ev.addRanks(ranks);
  return { metrics: ev.compute(), ranks, seconds: (performance.now() - t0) / 1000 };
}
