import { ShapeError } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';

/** The pair counts behind {@link kendallTauB} (all over unordered pairs i < j). */
export interface KendallCounts {
  /** Number of observations. */
  readonly n: number;
  /** n (n - 1) / 2. */
  readonly pairs: number;
  /** Pairs ordered oppositely by x and y (neither tied). */
  readonly discordant: number;
  /** Pairs tied in x (including those also tied in y). */
  readonly tiesX: number;
  /** Pairs tied in y (including those also tied in x). */
  readonly tiesY: number;
  /** Pairs tied in both x and y. */
  readonly tiesXY: number;
}

/**
 * Kendall's tau-b of two paired samples, in O(n log n) and float64, equal to
 * `scipy.stats.kendalltau(x, y)` (its default `variant='b'`) to rounding:
 *
 *   tau_b = (C - D) / sqrt((P - T_x) (P - T_y)),   P = n (n - 1) / 2,
 *
 * where C and D count concordant and discordant pairs and T_x, T_y the pairs tied in x and in y.
 * The pair counts are exact integers (n up to ~10^8); only the final division rounds.
 *
 * Returns NaN, as scipy does, when n < 2 or when x or y is constant (the denominator is 0).
 * Throws on NaN input (scipy would propagate it) and on length mismatch. No p-value.
 *
 * @see Knight (1966), "A computer method for calculating Kendall's tau with ungrouped data", JASA 61
 * @see MME-SID Sec. 4.4, Fig. 2: Kendall's tau of the distance order measures catastrophic forgetting
 * @example
 * kendallTauB([1, 2, 3, 4], [1, 3, 2, 4]); // 0.6666666666666666
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const c = kendallCounts(x, y);
  const denom = Math.sqrt(c.pairs - c.tiesX) * Math.sqrt(c.pairs - c.tiesY);
  if (c.n < 2 || denom === 0) return Number.NaN;
  const num = c.pairs - c.tiesX - c.tiesY + c.tiesXY - 2 * c.discordant;
  return Math.min(1, Math.max(-1, num / denom));
}

/**
 * Kendall's tau-a, the paper's formula: (C - D) / P with P = n (n - 1) / 2 all pairs, ties counting
 * as neither concordant nor discordant (so ties pull it toward 0, unlike {@link kendallTauB}, which
 * removes tied pairs from the denominator). Equal to tau-b when there are no ties. O(n log n).
 *
 * Returns NaN when n < 2. Throws on NaN input and on length mismatch.
 *
 * @see MME-SID Sec. 4.4: "(#concordant - #discordant) / #pairs"
 * @example
 * kendallTauA([1, 2, 3, 4], [1, 3, 2, 4]); // 0.6666666666666666 (no ties: = tau-b)
 * kendallTauA([1, 1, 2], [1, 2, 3]); // (2 - 0) / 3
 */
export function kendallTauA(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const c = kendallCounts(x, y);
  if (c.n < 2) return Number.NaN;
  const concordant = c.pairs - c.tiesX - c.tiesY + c.tiesXY - c.discordant;
  return (concordant - c.discordant) / c.pairs;
}

/**
 * The concordance counts of Knight's algorithm: sort the pairs by x then y, count ties in x and
 * joint ties in runs, count discordant pairs as the inversions a merge sort of y removes, then
 * count ties in the sorted y. O(n log n) time, O(n) memory.
 */
export function kendallCounts(x: ArrayLike<number>, y: ArrayLike<number>): KendallCounts {
  const n = x.length;
  if (y.length !== n) throw new ShapeError(`kendallTauB: x has ${n} values but y has ${y.length}`);
  const xs = new Float64Array(n);
  const ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      throw new MetricsInputError(
        `kendallTauB: ${Number.isNaN(a) ? 'x' : 'y'}[${i}] is NaN; every value must be a number`,
      );
    }
    xs[i] = a;
    ys[i] = b;
  }
  const pairs = (n * (n - 1)) / 2;
  if (n < 2) return { n, pairs: Math.max(0, pairs), discordant: 0, tiesX: 0, tiesY: 0, tiesXY: 0 };

  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((i, j) => xs[i]! - xs[j]! || ys[i]! - ys[j]! || 0);

  let tiesX = 0;
  let tiesXY = 0;
  let runX = 1;
  let runXY = 1;
  const yOrdered = new Float64Array(n);
  yOrdered[0] = ys[order[0]!]!;
  for (let k = 1; k < n; k++) {
    const i = order[k]!;
    const p = order[k - 1]!;
    yOrdered[k] = ys[i]!;
    if (xs[i] === xs[p]) {
      runX++;
      if (ys[i] === ys[p]) runXY++;
      else {
        tiesXY += (runXY * (runXY - 1)) / 2;
        runXY = 1;
      }
    } else {
      tiesX += (runX * (runX - 1)) / 2;
      tiesXY += (runXY * (runXY - 1)) / 2;
      runX = 1;
      runXY = 1;
    }
  }
  tiesX += (runX * (runX - 1)) / 2;
  tiesXY += (runXY * (runXY - 1)) / 2;

  const discordant = sortCountingInversions(yOrdered);

  let tiesY = 0;
  let runY = 1;
  for (let k = 1; k < n; k++) {
    if (yOrdered[k] === yOrdered[k - 1]) runY++;
    else {
      tiesY += (runY * (runY - 1)) / 2;
      runY = 1;
    }
  }
  tiesY += (runY * (runY - 1)) / 2;
  return { n, pairs, discordant, tiesX, tiesY, tiesXY };
}

/**
 * Sorts `a` ascending in place (bottom-up merge sort) and returns the number of strict inversions
 * (i < j with a[i] > a[j]) it removed. Equal values are not inversions, so pairs tied in y are
 * never counted as discordant.
 */
function sortCountingInversions(a: Float64Array): number {
  const n = a.length;
  let src: Float64Array = a;
  let dst: Float64Array = new Float64Array(n);
  let inversions = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j]! < src[i]!) {
          // src[j] jumps ahead of every remaining left element, each of them greater than it.
          inversions += mid - i;
          dst[k++] = src[j++]!;
        } else {
          dst[k++] = src[i++]!;
        }
      }
      while (i < mid) dst[k++] = src[i++]!;
      while (j < hi) dst[k++] = src[j++]!;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src !== a) a.set(src);
  return inversions;
}
