import { ConfigError } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';

/** The cut-offs the MME-SID paper reports. */
export const PAPER_KS: readonly number[] = Object.freeze([5, 10, 20]);

/**
 * Top-k metrics of a leave-one-out evaluation, each averaged over all users. Every record is keyed
 * by k, e.g. `m.ndcg[10]`. With one relevant item per user:
 *
 * - `hr[k]` (hit ratio, equal to `recall[k]`): 1 if rank <= k;
 * - `ndcg[k]`: 1 / log2(rank + 1) if rank <= k (the ideal DCG of one relevant item is 1);
 * - `mrr[k]`: 1 / rank if rank <= k (equal to `map[k]`);
 * - `precision[k]`: hr / k.
 *
 * Each is 0 for a user whose target ranks below k.
 */
export interface RankingMetrics {
  /** How many users (ranks) were averaged. */
  readonly users: number;
  /** The cut-offs, ascending. */
  readonly ks: readonly number[];
  readonly hr: Readonly<Record<number, number>>;
  readonly ndcg: Readonly<Record<number, number>>;
  readonly mrr: Readonly<Record<number, number>>;
  readonly precision: Readonly<Record<number, number>>;
  readonly recall: Readonly<Record<number, number>>;
  readonly map: Readonly<Record<number, number>>;
  /** Mean of the full ranks (not cut off); 1 is perfect. */
  readonly meanRank: number;
}

/** Checks a list of cut-offs and returns it sorted ascending without duplicates. */
export function normaliseKs(ks: readonly number[]): number[] {
  if (ks.length === 0) throw new ConfigError('ks: expected at least one cut-off, got an empty list');
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 1)
      throw new ConfigError(`ks: every cut-off must be an integer >= 1, got ${k}`);
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * HR, nDCG, MRR, Precision, Recall and MAP at each k from per-user 1-based ranks of the single
 * held-out item, averaged over all users (the sum divided by the number of users, as the authors'
 * `utils/eval_utils.py` does). Pure JS, float64; use it on ranks from {@link FullRankingEvaluator}
 * or from any other ranking.
 *
 * @see MME-SID experimental setup: full ranking, HR@k and nDCG@k for k = 5, 10, 20; the authors'
 *   `utils/eval_utils.py` (summarised in `datasets/beauty/README.md`, "How the authors evaluate")
 * @example
 * const m = metricsFromRanks(Int32Array.from([1, 3, 30]), [5, 10, 20]);
 * m.hr[5]; // 2/3
 * m.ndcg[5]; // (1 + 1/log2(4) + 0) / 3 = 0.5
 */
export function metricsFromRanks(ranks: ArrayLike<number>, ks: readonly number[] = PAPER_KS): RankingMetrics {
  const cut = normaliseKs(ks);
  const n = ranks.length;
  if (n === 0)
    throw new MetricsInputError('metricsFromRanks: no ranks given (zero users): the averages are undefined');
  const hr = new Float64Array(cut.length);
  const ndcg = new Float64Array(cut.length);
  const mrr = new Float64Array(cut.length);
  let rankSum = 0;
  for (let u = 0; u < n; u++) {
    const r = ranks[u]!;
    if (!Number.isInteger(r) || r < 1) {
      throw new MetricsInputError(
        `metricsFromRanks: ranks[${u}] is ${r}; ranks are 1-based integers (1 = top)`,
      );
    }
    rankSum += r;
    const gain = 1 / Math.log2(r + 1);
    const rr = 1 / r;
    for (let i = 0; i < cut.length; i++) {
      if (r <= cut[i]!) {
        hr[i]! += 1;
        ndcg[i]! += gain;
        mrr[i]! += rr;
      }
    }
  }
  const rec = (f: (i: number, k: number) => number): Record<number, number> =>
    Object.fromEntries(cut.map((k, i) => [k, f(i, k)]));
  const hrRec = rec((i) => hr[i]! / n);
  const mrrRec = rec((i) => mrr[i]! / n);
  return {
    users: n,
    ks: cut,
    hr: hrRec,
    ndcg: rec((i) => ndcg[i]! / n),
    mrr: mrrRec,
    precision: rec((i, k) => hr[i]! / n / k),
    recall: { ...hrRec },
    map: { ...mrrRec },
    meanRank: rankSum / n,
  };
}

/**
 * The metrics as one flat record with the paper's labels (`HR@5`, `NDCG@5`, `MRR@5`,
 * `Precision@5`, `Recall@5`, `MAP@5`, ..., `users`, `meanRank`), for printing or JSON reports.
 *
 * @example
 * console.table(flattenRankingMetrics(evaluator.compute()));
 */
export function flattenRankingMetrics(m: RankingMetrics): Record<string, number> {
  const out: Record<string, number> = { users: m.users };
  const names: [string, keyof RankingMetrics][] = [
    ['HR', 'hr'],
    ['NDCG', 'ndcg'],
    ['MRR', 'mrr'],
    ['Precision', 'precision'],
    ['Recall', 'recall'],
    ['MAP', 'map'],
  ];
  for (const [label, key] of names) {
    const rec = m[key] as Record<number, number>;
    for (const k of m.ks) out[`${label}@${k}`] = rec[k]!;
  }
  out.meanRank = m.meanRank;
  return out;
}
