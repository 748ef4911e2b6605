import { ConfigError, Rng } from '@mmesid/tensor';
import { MetricsInputError } from '../errors.js';

/** Item ids up to 2^26 - 1 keep pair keys exact in a double. */
const MAX_ID = 2 ** 26;

/**
 * A list of item pairs: pair p is (`first[p]`, `second[p]`), both item ids (row indices of an
 * embedding table).
 */
export interface ItemPairs {
  readonly first: Int32Array;
  readonly second: Int32Array;
}

/** What {@link behaviouralPairs} kept and what it left out, so nothing is dropped unseen. */
export interface BehaviouralPairs extends ItemPairs {
  /** Examples read. */
  readonly examples: number;
  /** Examples with an empty history: they have no previous item, so no pair. */
  readonly emptyHistories: number;
  /** Examples whose target equals the last history item (a zero-distance pair in every table). */
  readonly selfPairs: number;
  /** Pairs left out because the same unordered pair came earlier (only with `unique`). */
  readonly duplicates: number;
}

/** One (history, target) example, e.g. `@mmesid/datasets`' `Example`. */
export interface PairSource {
  readonly history: ArrayLike<number>;
  readonly target: number;
}

/**
 * Which behavioural-target pairs: the paper measures "the distance between behavioural and target
 * item embeddings" without saying which history items; `'last'` (default) pairs the last history
 * item with the target, `'all'` every history item with the target.
 */
export type BehaviouralPairReading = 'last' | 'all';

/**
 * The behavioural item pairs of a split: for each example with a non-empty history, the pair
 * (last history item, target), i.e. two items one user interacted with one after the other, or
 * with `reading: 'all'` every (history item, target).
 * Passing a split's `train` examples gives every consecutive pair the sequential model learned
 * from (the last `maxTargetsPerUser` transitions of each user's training part).
 *
 * Pairs are unordered: with `unique` (the default) a pair {i, j} is kept once, at its first
 * occurrence in either order, so frequent transitions do not weigh more than rare ones. Pairs with
 * i = j (an item right after itself) are skipped, because their distance is 0 in every table;
 * both skips are counted in the result. Use it for {@link distanceOrderTau} to ask whether a
 * quantized or learned table keeps the distance order of related items.
 *
 * @see MME-SID Sec. 4.4, Fig. 2 (catastrophic forgetting: distance order between item pairs in the
 *   collaborative space vs the quantized space)
 * @example
 * const pairs = behaviouralPairs(split.train);
 * const { tau } = distanceOrderTau(sasrecTable, codeTable, pairs);
 */
export function behaviouralPairs(
  examples: Iterable<PairSource>,
  options: { unique?: boolean; reading?: BehaviouralPairReading } = {},
): BehaviouralPairs {
  const unique = options.unique ?? true;
  const all = options.reading === 'all';
  const first: number[] = [];
  const second: number[] = [];
  const seen = new Set<number>();
  let examplesRead = 0;
  let emptyHistories = 0;
  let selfPairs = 0;
  let duplicates = 0;
  for (const ex of examples) {
    const idx = examplesRead++;
    const h = ex.history;
    if (h.length === 0) {
      emptyHistories++;
      continue;
    }
    const b = ex.target;
    for (let k = all ? 0 : h.length - 1; k < h.length; k++) {
      const a = h[k]!;
      for (const [what, v] of [
        [all ? `history item ${k}` : 'last history item', a],
        ['target', b],
      ] as const) {
        if (!Number.isInteger(v) || v < 0 || v >= MAX_ID) {
          throw new MetricsInputError(
            `behaviouralPairs: example ${idx} has ${what} ${v}; item ids are integers in 0..${MAX_ID - 1}`,
          );
        }
      }
      if (a === b) {
        selfPairs++;
        continue;
      }
      if (unique) {
        const lo = Math.min(a, b);
        const hi = Math.max(a, b);
        const key = lo * MAX_ID + hi; // exact: below 2^52
        if (seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
      }
      first.push(a);
      second.push(b);
    }
  }
  return {
    first: Int32Array.from(first),
    second: Int32Array.from(second),
    examples: examplesRead,
    emptyHistories,
    selfPairs,
    duplicates,
  };
}

/**
 * `count` distinct unordered pairs {i, j}, i != j, drawn uniformly from item ids
 * `firstId..lastId` (default 1..numItems: padding 0 is left out) with a seeded {@link Rng}: the
 * same seed gives the same pairs everywhere. The random-pair counterpart of
 * {@link behaviouralPairs}, to measure how well a table keeps the global distance order.
 *
 * @example
 * const pairs = randomItemPairs(12086, 100_000, { seed: 7 });
 */
export function randomItemPairs(
  numItems: number,
  count: number,
  options: { seed?: number | string; firstId?: number } = {},
): ItemPairs {
  const firstId = options.firstId ?? 1;
  if (!Number.isInteger(numItems) || !Number.isInteger(firstId) || firstId < 0 || numItems < firstId + 1) {
    throw new ConfigError(
      `randomItemPairs: need at least two ids in ${firstId}..numItems, got numItems = ${numItems}, firstId = ${firstId}`,
    );
  }
  if (numItems >= MAX_ID)
    throw new ConfigError(`randomItemPairs: numItems ${numItems} is above the supported ${MAX_ID - 1}`);
  const span = numItems - firstId + 1;
  const possible = (span * (span - 1)) / 2;
  if (!Number.isInteger(count) || count < 0 || count > possible) {
    throw new ConfigError(
      `randomItemPairs: count must be an integer in 0..${possible} (distinct pairs of ${span} ids), got ${count}`,
    );
  }
  if (count > possible / 2) {
    // Rejection would slow down near saturation: enumerate and shuffle instead.
    const all: number[] = [];
    for (let i = 0; i < span; i++) for (let j = i + 1; j < span; j++) all.push(i * span + j);
    new Rng(options.seed ?? 0).shuffle(all);
    const first = new Int32Array(count);
    const second = new Int32Array(count);
    for (let p = 0; p < count; p++) {
      first[p] = firstId + Math.floor(all[p]! / span);
      second[p] = firstId + (all[p]! % span);
    }
    return { first, second };
  }
  const rng = new Rng(options.seed ?? 0);
  const seen = new Set<number>();
  const first = new Int32Array(count);
  const second = new Int32Array(count);
  let p = 0;
  while (p < count) {
    const i = rng.int(span);
    const j = rng.int(span);
    if (i === j) continue;
    const key = Math.min(i, j) * span + Math.max(i, j);
    if (seen.has(key)) continue;
    seen.add(key);
    first[p] = firstId + i;
    second[p] = firstId + j;
    p++;
  }
  return { first, second };
}
