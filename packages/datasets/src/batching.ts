import { parseOptions, Rng } from '@mmesid/core';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { sampleNegatives } from './negatives.js';
import { type PaddedBatch, padSequences } from './padding.js';
import type { Example, TrainingSequences, UserSequence } from './split.js';

const common = {
  /** Rows per batch. */
  batchSize: z.number().int().positive().default(64),
  /** Visit the rows in a seeded random order (a new order each epoch). */
  shuffle: z.boolean().default(true),
  /** The seed; the same seed and epoch give the same batches. */
  seed: z.number().int().default(0),
  /** The epoch number, mixed into the seed so each epoch is shuffled differently. */
  epoch: z.number().int().min(0).default(0),
  /** Leave out a last batch smaller than `batchSize`. */
  dropLast: z.boolean().default(false),
  /** Where padding goes. */
  padSide: z.enum(['left', 'right']).default('left'),
  /** Negatives drawn per target (0: none). */
  negatives: z.number().int().min(0).default(0),
  /**
   * What a negative must avoid besides padding and its positive: `positive` only, or also every
   * item of the user's `history` (SASRec's rule: nothing the user has interacted with).
   */
  negativeExclude: z.enum(['positive', 'history']).default('history'),
};

/** Options of {@link exampleBatches}. */
export const ExampleBatchOptionsSchema = z.strictObject({
  ...common,
  /** Keep only the most recent `maxHistory` items of each history. */
  maxHistory: z.number().int().positive().optional(),
  /** At least this many history columns (the authors' LLM batches use 2). */
  minLength: z.number().int().min(0).default(1),
  /** The item count, needed to draw negatives. */
  numItems: z.number().int().positive().optional(),
});

/** Options accepted by {@link exampleBatches}. */
export type ExampleBatchOptions = z.input<typeof ExampleBatchOptionsSchema>;

/** A batch of (history, target) pairs. */
export interface ExampleBatch {
  readonly size: number;
  /** Which examples (indices into the input array) this batch holds, in row order. */
  readonly indices: Int32Array;
  readonly users: Int32Array;
  readonly targets: Int32Array;
  /** The histories, padded, with their mask. */
  readonly history: PaddedBatch;
  /** `size x negatives` negatives, row-major; empty when `negatives` is 0. */
  readonly negatives: Int32Array;
}

function visitOrder(n: number, shuffle: boolean, seed: number, epoch: number): Int32Array {
  if (!shuffle) return Int32Array.from({ length: n }, (_, i) => i);
  return new Rng(`order/${seed}/${epoch}`).permutation(n);
}

/**
 * Groups (history, target) pairs into padded batches, shuffled by a seed and epoch, with optional
 * negatives. The authors' LLM recipe is `{ padSide: 'left', minLength: 2 }`.
 *
 * @example
 * for (const b of exampleBatches(split.train, { batchSize: 16, seed: 1, epoch, negatives: 1, numItems })) {
 *   b.history.ids; // Int32Array [16 x cols], 0 = padding
 * }
 */
export function* exampleBatches(
  examples: readonly Example[],
  options: ExampleBatchOptions = {},
): Generator<ExampleBatch, void, undefined> {
  const opts = parseOptions(ExampleBatchOptionsSchema, options, 'exampleBatches options');
  if (opts.negatives > 0 && opts.numItems === undefined) {
    throw new ConfigError('exampleBatches options: numItems is required to draw negatives');
  }
  const order = visitOrder(examples.length, opts.shuffle, opts.seed, opts.epoch);
  const rng = new Rng(`negatives/${opts.seed}/${opts.epoch}`);
  for (let start = 0; start < order.length; start += opts.batchSize) {
    const end = Math.min(order.length, start + opts.batchSize);
    if (opts.dropLast && end - start < opts.batchSize) return;
    const indices = order.slice(start, end);
    const size = indices.length;
    const users = new Int32Array(size);
    const targets = new Int32Array(size);
    const histories: Int32Array[] = [];
    const negatives = new Int32Array(size * opts.negatives);
    for (let r = 0; r < size; r++) {
      const e = examples[indices[r]!]!;
      users[r] = e.user;
      targets[r] = e.target;
      histories.push(e.history);
      if (opts.negatives > 0) {
        const neg = sampleNegatives(rng, e.target, {
          numItems: opts.numItems!,
          count: opts.negatives,
          ...(opts.negativeExclude === 'history' ? { exclude: e.history } : {}),
        });
        negatives.set(neg, r * opts.negatives);
      }
    }
    const history = padSequences(histories, {
      side: opts.padSide,
      minLength: opts.minLength,
      ...(opts.maxHistory !== undefined ? { maxLength: opts.maxHistory } : {}),
    });
    yield { size, indices, users, targets, history, negatives };
  }
}

/** Options of {@link sequenceBatches}. */
export const SequenceBatchOptionsSchema = z.strictObject({
  ...common,
  /** Positions per row: the last `maxLength` (input, target) positions of each sequence. SASRec: 50. */
  maxLength: z.number().int().positive().default(50),
  /** `maxLength`: every batch is `maxLength` wide (SASRec's fixed positions); `longest`: as wide as its longest row. */
  width: z.enum(['maxLength', 'longest']).default('maxLength'),
  negatives: z.number().int().min(0).default(1),
});

/** Options accepted by {@link sequenceBatches}. */
export type SequenceBatchOptions = z.input<typeof SequenceBatchOptionsSchema>;

/** A batch of all-positions training rows (SASRec style). */
export interface SequenceBatch {
  readonly size: number;
  /** Columns per row. */
  readonly length: number;
  readonly users: Int32Array;
  /** `size x length`: the input items, 0 = padding. */
  readonly inputs: Int32Array;
  /** `size x length`: the next item at each position (the positive), 0 = padding. */
  readonly targets: Int32Array;
  /** `size x length`: 1 where the position has a target. */
  readonly mask: Uint8Array;
  /** `size x length x negatives`: negatives per position, 0 at padded positions. */
  readonly negatives: Int32Array;
}

/**
 * Batches for models that predict every position (SASRec): for a training part `s`, inputs are
 * `s[:-1]` and targets `s[1:]`, the last `maxLength` positions kept, padded on `padSide`, with
 * `negatives` draws per position that never hit padding or the positive, and (by default) nothing
 * from the user's training part, as SASRec samples them.
 *
 * @example
 * const seqs = trainingSequences(dataset);
 * for (const b of sequenceBatches(seqs, { batchSize: 128, maxLength: 50, seed: 42, epoch })) { ... }
 */
export function* sequenceBatches(
  training: TrainingSequences | { readonly sequences: readonly UserSequence[]; readonly numItems: number },
  options: SequenceBatchOptions = {},
): Generator<SequenceBatch, void, undefined> {
  const opts = parseOptions(SequenceBatchOptionsSchema, options, 'sequenceBatches options');
  const { sequences, numItems } = training;
  const order = visitOrder(sequences.length, opts.shuffle, opts.seed, opts.epoch);
  const rng = new Rng(`negatives/${opts.seed}/${opts.epoch}`);
  const k = opts.negatives;
  for (let start = 0; start < order.length; start += opts.batchSize) {
    const end = Math.min(order.length, start + opts.batchSize);
    if (opts.dropLast && end - start < opts.batchSize) return;
    const size = end - start;
    let length = opts.maxLength;
    if (opts.width === 'longest') {
      length = 1;
      for (let r = 0; r < size; r++) {
        const n = sequences[order[start + r]!]!.items.length - 1;
        length = Math.max(length, Math.min(n, opts.maxLength));
      }
    }
    const users = new Int32Array(size);
    const inputs = new Int32Array(size * length);
    const targets = new Int32Array(size * length);
    const mask = new Uint8Array(size * length);
    const negatives = new Int32Array(size * length * k);
    for (let r = 0; r < size; r++) {
      const { user, items } = sequences[order[start + r]!]!;
      users[r] = user;
      const seen = k > 0 && opts.negativeExclude === 'history' ? new Set(items) : undefined;
      const positions = Math.min(items.length - 1, length);
      const from = items.length - 1 - positions; // first input index kept
      const col0 = opts.padSide === 'left' ? length - positions : 0;
      for (let p = 0; p < positions; p++) {
        const cell = r * length + col0 + p;
        inputs[cell] = items[from + p]!;
        targets[cell] = items[from + p + 1]!;
        mask[cell] = 1;
        if (k > 0) {
          const neg = sampleNegatives(rng, targets[cell]!, {
            numItems,
            count: k,
            ...(seen ? { exclude: seen } : {}),
          });
          negatives.set(neg, cell * k);
        }
      }
    }
    yield { size, length, users, inputs, targets, mask, negatives };
  }
}

/** How many batches a generator above yields for `rows` rows. */
export function batchCount(rows: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(rows / batchSize) : Math.ceil(rows / batchSize);
}
