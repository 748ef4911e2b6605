import { parseOptions } from '@mmesid/core';
import { countAtLeast, ShapeError, tf } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';
import { type RankingOptions, RankingOptionsSchema } from './options.js';

/** Ranks of one batch of users, in the batch's row order. */
export interface RankedBatch {
  /** 1-based rank of each row's target among the ranked items (1 = top). */
  readonly ranks: Int32Array;
  /**
   * Rows whose target also occurs in their history. The target is never excluded (it is what is
   * ranked); the authors' data has no such row because no user repeats an item.
   */
  readonly targetsInHistory: number;
}

/**
 * Full-ranking ranks of one batch: row b of `scores` holds a score for every item index
 * 0..numItems, `targets[b]` is the held-out item and `histories[b]` the items of the user's input.
 *
 * The rank is 1 + the number of ranked items whose score is **greater than or equal to** the
 * target's. Ranked items are every index except the target itself, the row's history items and,
 * with `excludePadding`, index 0:
 *
 * - ties are broken against the target: an item with an equal score ranks ahead of it (the most
 *   pessimistic order, so a constant scorer gets the worst rank, not the best);
 * - history items are left out of the count instead of having their scores overwritten with a
 *   large negative number (the authors use -1024): the result is the authors' whenever the target
 *   scores above -1024, and stays exact for scores of any scale;
 * - history entries equal to 0 are padding and ignored; index 0 is ranked like an item unless
 *   `excludePadding` is set (the authors do not mask it);
 * - a NaN score never outranks the target; a NaN target score throws;
 * - scores are compared as float32 (int32 scores are cast, exact up to 2^24 in magnitude).
 *
 * The counting runs on the active backend: one greater-or-equal count per row over the whole
 * score matrix, and a gathered correction for the history items (no [B, numItems] mask is built),
 * so only B + (history length) numbers are read back.
 *
 * Does not dispose `scores` (the caller owns it); allocates nothing that outlives the call.
 *
 * @see the authors' `inference.py` / `utils/eval_utils.py` (datasets/beauty/README.md, "How the
 *   authors evaluate")
 * @example
 * const scores = tf.tensor2d([[0, 0.9, 0.5, 0.7]]); // padding 0, then items 1..3
 * const { ranks } = await rankTargets(scores, [2], [[1]]);
 * // item 1 is history, so only item 3 (0.7) beats item 2 (0.5): ranks = Int32Array [2]
 * scores.dispose();
 */
export async function rankTargets(
  scores: tf.Tensor,
  targets: ArrayLike<number>,
  histories: readonly ArrayLike<number>[],
  options?: RankingOptions,
): Promise<RankedBatch> {
  const opts = parseOptions(RankingOptionsSchema, options, 'rankTargets');
  if (scores.rank !== 2) {
    throw new ShapeError(`rankTargets: scores must be [batch, numItems + 1], got shape [${scores.shape}]`);
  }
  const [batch, cols] = scores.shape as [number, number];
  if (opts.numItems !== undefined && cols !== opts.numItems + 1) {
    throw new ShapeError(
      `rankTargets: scores have ${cols} columns but numItems = ${opts.numItems} needs ${opts.numItems + 1} (ids 0..${opts.numItems})`,
    );
  }
  if (targets.length !== batch || histories.length !== batch) {
    throw new ShapeError(
      `rankTargets: scores have ${batch} rows but ${targets.length} targets and ${histories.length} histories were given`,
    );
  }
  if (batch * cols > 2 ** 31 - 1) {
    throw new ShapeError(
      `rankTargets: a batch of ${batch} x ${cols} scores is too large to index; use smaller batches`,
    );
  }
  if (batch === 0) return { ranks: new Int32Array(0), targetsInHistory: 0 };

  const targetIdx = new Int32Array(batch);
  const excluded = collectExcluded(targets, histories, cols, opts.excludePadding, targetIdx);

  const [counts, targetScores, flags] = tf.tidy(() => {
    const flat = tf.reshape(scores, [batch * cols]);
    const ts = tf.gather(flat, tf.tensor1d(targetIdx, 'int32'));
    // One pass over the row per target on cpu and wasm (see countAtLeast).
    const f32 = scores.dtype === 'float32' ? scores : tf.cast(scores, 'float32');
    const count = countAtLeast(f32 as tf.Tensor2D, tf.cast(ts, 'float32') as tf.Tensor1D);
    const exFlags =
      excluded.flatIdx.length > 0
        ? tf.cast(
            tf.greaterEqual(
              tf.gather(flat, tf.tensor1d(excluded.flatIdx, 'int32')),
              tf.gather(ts, tf.tensor1d(excluded.row, 'int32')),
            ),
            'int32',
          )
        : tf.zeros([0], 'int32');
    return [count, ts, exFlags] as const;
  });
  let countV: ArrayLike<number>;
  let tsV: ArrayLike<number>;
  let flagV: ArrayLike<number>;
  try {
    [countV, tsV, flagV] = await Promise.all([counts.data(), targetScores.data(), flags.data()]);
  } finally {
    tf.dispose([counts, targetScores, flags]);
  }

  const ranks = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    if (Number.isNaN(tsV[b]!)) {
      throw new MetricsInputError(`rankTargets: the score of target ${targets[b]} in row ${b} is NaN`);
    }
    // The count includes the target itself (s >= s), hence no +1.
    ranks[b] = countV[b]!;
  }
  for (let h = 0; h < excluded.row.length; h++) {
    const r = excluded.row[h]!;
    ranks[r] = ranks[r]! - flagV[h]!;
  }
  return { ranks, targetsInHistory: excluded.targetsInHistory };
}

/**
 * {@link rankTargets} for a scorer that gives every user the same scores (popularity): one row of
 * `numItems + 1` scores shared by the batch, ranked on the host without a [B, numItems + 1] matrix.
 * The rank definition is {@link rankTargets}' to the bit (float32 comparison, ties against the
 * target, history and optionally padding left out, NaN never outranks, a NaN target throws): the
 * row is sorted once, each target's greater-or-equal count is a binary search, and each history
 * item is one comparison. Cost O(N log N + B log N + history) instead of O(B N).
 *
 * @example
 * const { ranks } = rankTargetsShared(Float32Array.of(0, 5, 1, 3), [2, 3], [[1], []]);
 * // user 0: item 1 is history, so only item 3 (3) beats item 2 (1); user 1: item 1 (5) beats
 * // item 3: ranks = Int32Array [2, 2]
 */
export function rankTargetsShared(
  scores: ArrayLike<number>,
  targets: ArrayLike<number>,
  histories: readonly ArrayLike<number>[],
  options?: RankingOptions,
): RankedBatch {
  const opts = parseOptions(RankingOptionsSchema, options, 'rankTargetsShared');
  const cols = scores.length;
  if (opts.numItems !== undefined && cols !== opts.numItems + 1) {
    throw new ShapeError(
      `rankTargetsShared: the score row has ${cols} entries but numItems = ${opts.numItems} needs ${opts.numItems + 1} (ids 0..${opts.numItems})`,
    );
  }
  const batch = targets.length;
  if (histories.length !== batch) {
    throw new ShapeError(`rankTargetsShared: ${batch} targets but ${histories.length} histories were given`);
  }
  if (batch === 0) return { ranks: new Int32Array(0), targetsInHistory: 0 };
  const targetIdx = new Int32Array(batch);
  const excluded = collectExcluded(targets, histories, cols, opts.excludePadding, targetIdx);
  const row = Float32Array.from(scores);
  const sorted = row.filter((v) => !Number.isNaN(v)).sort();
  const ranks = new Int32Array(batch);
  const targetScores = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    const t = targetIdx[b]! - b * cols;
    const ts = row[t]!;
    if (Number.isNaN(ts)) throw new MetricsInputError(`rankTargetsShared: the score of target ${t} is NaN`);
    targetScores[b] = ts;
    // First index whose score is >= ts; everything from there on counts (the target included).
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < ts) lo = mid + 1;
      else hi = mid;
    }
    ranks[b] = sorted.length - lo;
  }
  for (let h = 0; h < excluded.row.length; h++) {
    const r = excluded.row[h]!;
    if (row[excluded.flatIdx[h]! - r * cols]! >= targetScores[r]!) ranks[r] = ranks[r]! - 1;
  }
  return { ranks, targetsInHistory: excluded.targetsInHistory };
}

interface Excluded {
  /** Flat index b * cols + item of every excluded (row, item). */
  flatIdx: Int32Array;
  row: Int32Array;
  targetsInHistory: number;
}

function collectExcluded(
  targets: ArrayLike<number>,
  histories: readonly ArrayLike<number>[],
  cols: number,
  excludePadding: boolean,
  targetIdx: Int32Array,
): Excluded {
  const batch = targets.length;
  let total = excludePadding ? batch : 0;
  for (const h of histories) total += h.length;
  const flatIdx = new Int32Array(total);
  const row = new Int32Array(total);
  // seen[j] === b + 1 marks item j as already excluded in row b (dedupes without a Set per row).
  const seen = new Int32Array(cols);
  let n = 0;
  let targetsInHistory = 0;
  for (let b = 0; b < batch; b++) {
    const t = targets[b]!;
    if (!Number.isInteger(t) || t < 1 || t >= cols) {
      throw new MetricsInputError(
        `rankTargets: targets[${b}] is ${t}; a target must be an item id in 1..${cols - 1} (0 is padding)`,
      );
    }
    targetIdx[b] = b * cols + t;
    const mark = b + 1;
    seen[t] = mark;
    if (excludePadding) {
      seen[0] = mark;
      flatIdx[n] = b * cols;
      row[n++] = b;
    }
    const h = histories[b]!;
    let hitTarget = false;
    for (let i = 0; i < h.length; i++) {
      const j = h[i]!;
      if (!Number.isInteger(j) || j < 0 || j >= cols) {
        throw new MetricsInputError(
          `rankTargets: histories[${b}][${i}] is ${j}; history ids must be integers in 0..${cols - 1} (0 = padding, ignored)`,
        );
      }
      if (j === 0) continue;
      if (j === t) hitTarget = true;
      if (seen[j] === mark) continue;
      seen[j] = mark;
      flatIdx[n] = b * cols + j;
      row[n++] = b;
    }
    if (hitTarget) targetsInHistory++;
  }
  return { flatIdx: flatIdx.subarray(0, n), row: row.subarray(0, n), targetsInHistory };
}
