import { parseOptions } from '@mmesid/core';
import { z } from 'zod';
import type { Dataset } from './dataset.js';

/**
 * One (history, target) pair. `history` is a read-only view into the dataset's sequence (no
 * copy), oldest item first; it may be empty. `user` is the user's index in the dataset.
 */
export interface Example {
  readonly user: number;
  readonly history: Int32Array;
  readonly target: number;
}

/** Options of {@link leaveOneOut}. */
export const LeaveOneOutOptionsSchema = z.strictObject({
  /**
   * How many training targets a user contributes at most: the last min(this, n) positions of the
   * training part. The authors' code calls it `maxlen` and sets 50.
   */
  maxTargetsPerUser: z.number().int().positive().default(50),
  /**
   * Keep only the most recent `maxHistory` items of every history (train, valid and test alike).
   * Unset (the authors' setting) keeps the whole prefix. SASRec uses 50.
   */
  maxHistory: z.number().int().positive().optional(),
});

/** Options accepted by {@link leaveOneOut} (all optional). */
export type LeaveOneOutOptions = z.input<typeof LeaveOneOutOptionsSchema>;

/** The defaults of {@link LeaveOneOutOptionsSchema}: the authors' split. */
export const LEAVE_ONE_OUT_DEFAULTS: z.output<typeof LeaveOneOutOptionsSchema> =
  LeaveOneOutOptionsSchema.parse({});

/** A leave-one-out split of a dataset. */
export interface LeaveOneOutSplit {
  /** Training pairs, user by user in dataset order, each user's positions in time order. */
  readonly train: Example[];
  /** One pair per user with at least 3 items: target `items[-2]`, history `items[:-2]`. */
  readonly valid: Example[];
  /** One pair per user with at least 3 items: target `items[-1]`, history `items[:-1]`. */
  readonly test: Example[];
  /** The dataset's largest item id (the vocabulary is `numItems + 1` with padding 0). */
  readonly numItems: number;
  /** Users with fewer than 3 items: they only train, so they have no valid or test pair. */
  readonly trainOnlyUsers: number;
  /** The options used, defaults filled in. */
  readonly options: z.output<typeof LeaveOneOutOptionsSchema>;
}

/**
 * The authors' leave-one-out split (MME-SID `utils/data_utils_new.py`), user by user:
 *
 * - test: target `items[-1]`, history `items[:-1]`;
 * - validation: target `items[-2]`, history `items[:-2]`;
 * - training: from the training part `items[:-2]`, each of its last min(`maxTargetsPerUser`, n)
 *   positions is a target whose history is the whole prefix before it (so the first target of a
 *   short user has an empty history). The cap limits how many targets a user gives, not how long
 *   a history is; use `maxHistory` for that.
 * - a user with fewer than 3 items has no valid or test pair and trains on every position
 *   (still capped at `maxTargetsPerUser`).
 *
 * On the authors' Beauty this gives 150,041 training pairs, 22,196 of them with an empty history.
 *
 * @example
 * const split = leaveOneOut(beauty);                    // the authors' split
 * const sasrecSplit = leaveOneOut(beauty, { maxHistory: 50 });
 */
export function leaveOneOut(
  dataset: Pick<Dataset, 'sequences' | 'numItems'>,
  options: LeaveOneOutOptions = {},
): LeaveOneOutSplit {
  const opts = parseOptions(LeaveOneOutOptionsSchema, options, 'leaveOneOut options');
  const cut = (seq: Int32Array, end: number): Int32Array =>
    seq.subarray(opts.maxHistory === undefined ? 0 : Math.max(0, end - opts.maxHistory), end);
  const train: Example[] = [];
  const valid: Example[] = [];
  const test: Example[] = [];
  let trainOnlyUsers = 0;
  dataset.sequences.forEach((seq, user) => {
    const n = seq.length;
    let trainEnd = n;
    if (n >= 3) {
      trainEnd = n - 2;
      valid.push({ user, history: cut(seq, n - 2), target: seq[n - 2]! });
      test.push({ user, history: cut(seq, n - 1), target: seq[n - 1]! });
    } else trainOnlyUsers++;
    const first = Math.max(0, trainEnd - opts.maxTargetsPerUser);
    for (let t = first; t < trainEnd; t++) train.push({ user, history: cut(seq, t), target: seq[t]! });
  });
  return { train, valid, test, numItems: dataset.numItems, trainOnlyUsers, options: opts };
}

/** A user's training part, for models that predict every position (SASRec). */
export interface UserSequence {
  readonly user: number;
  /** The training part, oldest first (a view into the dataset). */
  readonly items: Int32Array;
}

/** The all-positions form of the split (see {@link trainingSequences}). */
export interface TrainingSequences {
  /** One entry per user whose training part has at least 2 items, in dataset order. */
  readonly sequences: UserSequence[];
  /** Users left out because their training part has fewer than 2 items (no target to predict). */
  readonly usersWithoutTargets: number;
  readonly numItems: number;
}

/**
 * The all-positions form for SASRec-style training: one sequence per user, the training part of
 * the same leave-one-out split (`items[:-2]` for users with at least 3 items, so validation and
 * test stay held out; the whole sequence for shorter users). Position t's input is `items[..t]`
 * and its target `items[t+1]`; {@link sequenceBatches} builds the shifted inputs, targets and negatives.
 */
export function trainingSequences(dataset: Pick<Dataset, 'sequences' | 'numItems'>): TrainingSequences {
  const sequences: UserSequence[] = [];
  let usersWithoutTargets = 0;
  dataset.sequences.forEach((seq, user) => {
    const items = seq.length >= 3 ? seq.subarray(0, seq.length - 2) : seq;
    if (items.length >= 2) sequences.push({ user, items });
    else usersWithoutTargets++;
  });
  return { sequences, usersWithoutTargets, numItems: dataset.numItems };
}

/**
 * How often each item is a training target: `freq[id]` for ids 0..numItems (`freq[0]` counts
 * padding targets, normally 0). This is the frequency the paper's frequency-aware fusion uses.
 * @throws {RangeError} a target outside 0..numItems.
 */
export function itemFrequency(examples: Iterable<{ readonly target: number }>, numItems: number): Int32Array {
  const freq = new Int32Array(numItems + 1);
  for (const e of examples) {
    if (!Number.isInteger(e.target) || e.target < 0 || e.target > numItems) {
      throw new RangeError(`itemFrequency: target ${e.target} is outside 0..${numItems}`);
    }
    freq[e.target]!++;
  }
  return freq;
}

/**
 * The frequency feature of MME-SID's frequency-aware fusion: `log(1 + f)` min-max normalised to
 * [0, 1] over the real items 1..N. Entry 0 (padding) is 0. If every item has the same frequency
 * the feature is 0 for all (there is nothing to tell apart).
 * @see MME-SID Table 2 (frequency-aware fusion): the item frequency feature the fusion weights are computed from
 */
export function normalizedLogFrequency(freq: ArrayLike<number>): Float32Array {
  const out = new Float32Array(freq.length);
  if (freq.length < 2) return out;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < freq.length; i++) {
    const v = Math.log1p(freq[i]!);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let i = 1; i < freq.length; i++) out[i] = (Math.log1p(freq[i]!) - lo) / span;
  return out;
}
