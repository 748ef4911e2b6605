import type { Rng } from '@mmesid/core';

/** Options of {@link sampleNegatives}. */
export interface NegativeSamplingOptions {
  /** The largest item id; negatives are drawn uniformly from 1..numItems (0 is padding, never drawn). */
  readonly numItems: number;
  /** How many negatives to draw. */
  readonly count: number;
  /**
   * Items that must not be drawn besides the positive, e.g. the user's history. Pass a `Set` when
   * the same exclusions serve many calls (it is used as is, not copied).
   */
  readonly exclude?: ArrayLike<number> | ReadonlySet<number>;
  /** Draw without repetition within this call (default false: independent draws). */
  readonly unique?: boolean;
}

/**
 * Draws negative items for one positive: uniform over 1..numItems, never padding, never the
 * positive and never an item in `exclude`. When the excluded items cover so much of the catalogue
 * that rejection would be slow, it draws from the explicit list of allowed items instead.
 *
 * @throws {RangeError} when no item (or, with `unique`, not enough items) is left to draw.
 * @example
 * sampleNegatives(rng, 7, { numItems: 100, count: 4, exclude: history });
 */
export function sampleNegatives(rng: Rng, positive: number, options: NegativeSamplingOptions): Int32Array {
  const { numItems, count } = options;
  const out = new Int32Array(count);
  if (count === 0) return out;
  const ex = options.exclude;
  const excluded: ReadonlySet<number> = ex === undefined ? EMPTY : isSet(ex) ? ex : new Set(Array.from(ex));
  let bannedCount = 0;
  for (const id of excluded) if (Number.isInteger(id) && id >= 1 && id <= numItems) bannedCount++;
  if (positive >= 1 && positive <= numItems && !excluded.has(positive)) bannedCount++;
  const banned = { has: (c: number) => c === positive || excluded.has(c) };
  const available = numItems - bannedCount;
  if (available < (options.unique ? count : 1)) {
    throw new RangeError(
      `sampleNegatives: only ${available} of ${numItems} items are allowed (positive and excluded items ` +
        `removed), cannot draw ${count}${options.unique ? ' distinct' : ''} negative(s)`,
    );
  }
  if (bannedCount * 2 <= numItems) {
    const drawn = options.unique ? new Set<number>() : undefined;
    for (let k = 0; k < count; ) {
      const c = 1 + rng.int(numItems);
      if (banned.has(c) || drawn?.has(c)) continue;
      drawn?.add(c);
      out[k++] = c;
    }
    return out;
  }
  const allowed = new Int32Array(available);
  for (let id = 1, j = 0; id <= numItems; id++) if (!banned.has(id)) allowed[j++] = id;
  if (options.unique) {
    // A partial Fisher-Yates shuffle: the first `count` slots become a uniform sample without repetition.
    for (let k = 0; k < count; k++) {
      const j = k + rng.int(available - k);
      const t = allowed[k]!;
      allowed[k] = allowed[j]!;
      allowed[j] = t;
      out[k] = allowed[k]!;
    }
  } else for (let k = 0; k < count; k++) out[k] = allowed[rng.int(available)]!;
  return out;
}

const EMPTY: ReadonlySet<number> = new Set<number>();

function isSet(x: ArrayLike<number> | ReadonlySet<number>): x is ReadonlySet<number> {
  return x instanceof Set;
}
