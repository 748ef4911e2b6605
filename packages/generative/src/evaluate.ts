import { metricsFromRanks, PAPER_KS, type RankingMetrics } from '@mmesid/metrics';
import { ConfigError } from '@mmesid/tensor';
import type { GenerativeExample, GenerativeRecommender } from './generative-model.js';

/** Options of {@link evaluateGenerative}. */
export interface EvaluateGenerativeOptions {
  /** Beams per user (default 20). Metrics are reported only at k <= beamWidth. */
  beamWidth?: number;
  /** Users decoded together (default 16). */
  batchSize?: number;
  /** Cut-offs (default 5, 10, 20). */
  ks?: readonly number[];
  /** Hide each user's history, as full ranking does (default true). */
  excludeHistory?: boolean;
  /**
   * Batch users of similar prompt length together (default true): prompts are left-padded to the
   * longest of their batch, so mixing short and long histories wastes compute on padding. Only the
   * order of decoding changes; every user's result is the same (beam search is per user).
   */
  groupByLength?: boolean;
  /** Called after each batch with the users done so far. */
  onBatch?: (done: number, total: number) => void;
}

/** What {@link evaluateGenerative} measured. */
export interface GenerativeEvaluation {
  /** HR/nDCG/MRR@k (k <= beamWidth), averaged over all users as the full-ranking evaluator does. */
  readonly metrics: RankingMetrics;
  /**
   * Per user: the target's 1-based position in the beam, or beamWidth + 1 when the beam did not
   * reach it (its true rank is unknown; every metric at k <= beamWidth is still exact).
   */
  readonly ranks: Int32Array;
  /** Users whose target was in the beam. */
  readonly found: number;
  readonly beamWidth: number;
}

/**
 * Leave-one-out evaluation of generative retrieval: each user's top `beamWidth` items from
 * trie-constrained beam search, with the history hidden, scored by the position of the held-out
 * target. Unlike full ranking (which scores every item and knows every rank), a target outside the
 * beam has no rank, so `meanRank` is not meaningful here and metrics exist only up to beamWidth.
 */
export async function evaluateGenerative(
  model: GenerativeRecommender,
  examples: readonly GenerativeExample[],
  opts: EvaluateGenerativeOptions = {},
): Promise<GenerativeEvaluation> {
  const W = opts.beamWidth ?? 20;
  const ks = opts.ks ?? PAPER_KS;
  const bad = ks.filter((k) => k > W);
  if (bad.length)
    throw new ConfigError(
      `evaluateGenerative: cut-offs ${bad.join(', ')} exceed beamWidth ${W}; beam search only ranks its beam`,
    );
  const B = opts.batchSize ?? 16;
  if (!(Number.isInteger(B) && B >= 1))
    throw new ConfigError(`evaluateGenerative: batchSize must be >= 1, got ${B}`);
  const ranks = new Int32Array(examples.length);
  let found = 0;
  const order = Array.from(examples.keys());
  if (opts.groupByLength ?? true) {
    const len = examples.map((e) => model.promptIds(e.history).length);
    order.sort((a, b) => len[a]! - len[b]! || a - b);
  }
  for (let s = 0; s < order.length; s += B) {
    const idx = order.slice(s, s + B);
    const res = await model.recommend(
      idx.map((i) => examples[i]!.history),
      { beamWidth: W, excludeHistory: opts.excludeHistory ?? true },
    );
    idx.forEach((u, i) => {
      const pos = res[i]!.items.indexOf(examples[u]!.target);
      ranks[u] = pos >= 0 ? pos + 1 : W + 1;
      if (pos >= 0) found++;
    });
    opts.onBatch?.(Math.min(s + B, examples.length), examples.length);
  }
  return { metrics: metricsFromRanks(ranks, ks), ranks, found, beamWidth: W };
}
