import { parseOptions } from '@mmesid/core';
import type { tf } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';
import { type RankingOptions, RankingOptionsSchema } from './options.js';
import { metricsFromRanks, normaliseKs, type RankingMetrics } from './rank-metrics.js';
import { rankTargets, rankTargetsShared } from './rank-targets.js';

/**
 * Streams a full-ranking evaluation over batches of users and keeps only one Int32 rank per user,
 * so a Beauty-sized run (22,332 users x 12,087 scores) never holds more than one batch of scores.
 * The protocol is the authors': every item index is scored, the user's input history is excluded,
 * the held-out target is ranked against everything else, and HR/nDCG/MRR (plus Precision, Recall
 * and MAP, as the authors report them) at k = 5, 10, 20 are averaged over all users.
 *
 * See {@link rankTargets} for the exact rank definition: ties count against the target, history
 * items are left out of the count (exact for any score scale, unlike overwriting them with -1024),
 * and padding index 0 is ranked like an item unless `excludePadding` is set.
 *
 * Gotchas: `update` does not dispose the scores you pass; evaluate one user once (each call's rows
 * are appended, nothing is deduplicated); `compute` throws before any user has been added.
 *
 * @see the authors' `inference.py` / `utils/eval_utils.py` (datasets/beauty/README.md, "How the
 *   authors evaluate")
 * @example
 * const ev = new FullRankingEvaluator({ numItems: split.numItems });
 * for (const batch of batches(split.test, 256)) {
 *   const scores = model.scoreAll(batch); // [B, numItems + 1]
 *   await ev.update(scores, batch.map((e) => e.target), batch.map((e) => e.history));
 *   scores.dispose();
 * }
 * const m = ev.compute(); // m.hr[10], m.ndcg[10], ...
 */
export class FullRankingEvaluator {
  readonly options: Readonly<ReturnType<typeof RankingOptionsSchema.parse>>;
  private buf = new Int32Array(1024);
  private n = 0;
  private inHistory = 0;

  constructor(options?: RankingOptions) {
    const opts = parseOptions(RankingOptionsSchema, options, 'FullRankingEvaluator');
    this.options = Object.freeze({ ...opts, ks: normaliseKs(opts.ks) });
  }

  /**
   * Ranks one batch (see {@link rankTargets}) and appends its ranks. Returns this batch's ranks.
   * Runs on the active tfjs backend; reads back only B + (history length) numbers.
   */
  async update(
    scores: tf.Tensor,
    targets: ArrayLike<number>,
    histories: readonly ArrayLike<number>[],
  ): Promise<Int32Array> {
    const { ranks, targetsInHistory } = await rankTargets(scores, targets, histories, this.options);
    this.append(ranks);
    this.inHistory += targetsInHistory;
    return ranks;
  }

  /**
   * {@link update} for scores shared by every user of the batch (one row of `numItems + 1`, e.g.
   * popularity), ranked on the host with {@link rankTargetsShared}: the same ranks as passing the
   * row repeated B times, without building that matrix. Returns this batch's ranks.
   */
  updateShared(
    scores: ArrayLike<number>,
    targets: ArrayLike<number>,
    histories: readonly ArrayLike<number>[],
  ): Int32Array {
    const { ranks, targetsInHistory } = rankTargetsShared(scores, targets, histories, this.options);
    this.append(ranks);
    this.inHistory += targetsInHistory;
    return ranks;
  }

  /** Adds ranks computed elsewhere (1-based), e.g. from another worker's evaluator. */
  addRanks(ranks: ArrayLike<number>): void {
    for (let i = 0; i < ranks.length; i++) {
      const r = ranks[i]!;
      if (!Number.isInteger(r) || r < 1 || r > 2 ** 31 - 1) {
        throw new MetricsInputError(`addRanks: ranks[${i}] is ${r}; ranks are 1-based integers (1 = top)`);
      }
    }
    this.append(ranks);
  }

  /** Users ranked so far. */
  get users(): number {
    return this.n;
  }

  /** Rows seen so far whose target also occurred in their history (0 on the authors' data). */
  get targetsInHistory(): number {
    return this.inHistory;
  }

  /** A copy of the per-user ranks, in the order the users were added. */
  ranks(): Int32Array {
    return this.buf.slice(0, this.n);
  }

  /** The metrics over every user added so far (see {@link metricsFromRanks}). */
  compute(): RankingMetrics {
    return metricsFromRanks(this.buf.subarray(0, this.n), this.options.ks);
  }

  /** Forgets every rank, to evaluate another split or model with the same options. */
  reset(): void {
    this.n = 0;
    this.inHistory = 0;
  }

  private append(ranks: ArrayLike<number>): void {
    if (this.n + ranks.length > this.buf.length) {
      const grown = new Int32Array(Math.max(this.buf.length * 2, this.n + ranks.length));
      grown.set(this.buf.subarray(0, this.n));
      this.buf = grown;
    }
    for (let i = 0; i < ranks.length; i++) this.buf[this.n + i] = ranks[i]!;
    this.n += ranks.length;
  }
}
