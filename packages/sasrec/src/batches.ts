import { type SequenceBatch, sequenceBatches, type TrainingSequences } from '@mmesid/datasets';
import { Rng } from '@mmesid/tensor';

/**
 * Negatives shared by every position of a batch (for the sampled softmax): `ids` are drawn
 * uniformly from 1..numItems without repetition; `excluded[r * ids.length + k]` is 1 when `ids[k]`
 * is one of row r's training items (its positives included), and such logits are masked out.
 */
export interface SharedNegatives {
  readonly ids: Int32Array;
  readonly excluded: Uint8Array;
}

/** A training batch: `@mmesid/datasets`' `SequenceBatch`, optionally with shared negatives. */
export type SasrecBatch = SequenceBatch & { readonly shared?: SharedNegatives };

/** Options of {@link epochBatches}. */
export interface EpochBatchOptions {
  batchSize: number;
  /** Positions per row (SASRec's n): the last `maxLen` (input, target) pairs of each sequence. */
  maxLen: number;
  /** Negatives drawn per position (never padding, the positive or the user's training items). */
  negatives: number;
  seed: number;
  epoch: number;
  /** Negatives shared by the whole batch (0: none); see {@link SharedNegatives}. */
  sharedNegatives?: number;
  /**
   * Group users of similar length: users are shuffled, then sorted by length inside windows of
   * `bucketBatches * batchSize` users, cut into batches, and the batch order is shuffled. Each batch
   * is only as wide as its longest row, so short sequences stop paying for 50 columns. 0 or 1
   * disables it (plain shuffled batches, each as wide as its longest row).
   */
  bucketBatches: number;
}

/**
 * One epoch of SASRec training batches from the all-positions form of the split, built by
 * `@mmesid/datasets`' `sequenceBatches` (negatives, padding, targets) over a length-bucketed
 * order. Deterministic in (seed, epoch). Padding is on the left, as {@link SASRec} expects.
 *
 * Bucketing changes which users share a batch, not what any user contributes; because the model's
 * outputs do not depend on the amount of padding, a narrower batch computes the same numbers.
 */
export function epochBatches(training: TrainingSequences, opts: EpochBatchOptions): SasrecBatch[] {
  const { sequences, numItems } = training;
  const rng = new Rng(`sasrec/batches/${opts.seed}/${opts.epoch}`);
  const order = Array.from(rng.permutation(sequences.length), (i) => sequences[i]!);
  const window = opts.bucketBatches > 1 ? opts.bucketBatches * opts.batchSize : 0;
  if (window > 0) {
    for (let start = 0; start < order.length; start += window) {
      const part = order.slice(start, start + window).sort((a, b) => a.items.length - b.items.length);
      for (let k = 0; k < part.length; k++) order[start + k] = part[k]!;
    }
  }
  const batches = [
    ...sequenceBatches(
      { sequences: order, numItems },
      {
        batchSize: opts.batchSize,
        maxLength: opts.maxLen,
        width: 'longest',
        shuffle: false,
        padSide: 'left',
        negatives: opts.negatives,
        negativeExclude: 'history',
        seed: opts.seed,
        epoch: opts.epoch,
      },
    ),
  ];
  const ordered = window > 0 ? rng.shuffle<SequenceBatch, SequenceBatch[]>(batches) : batches;
  const K = opts.sharedNegatives ?? 0;
  if (K === 0) return ordered;
  if (K > numItems) throw new RangeError(`epochBatches: ${K} shared negatives but only ${numItems} items`);
  const itemsOf = new Map(sequences.map((s) => [s.user, s.items]));
  const negRng = new Rng(`sasrec/shared-negatives/${opts.seed}/${opts.epoch}`);
  return ordered.map((b) => {
    const drawn = new Set<number>();
    const ids = new Int32Array(K);
    for (let k = 0; k < K; ) {
      const c = 1 + negRng.int(numItems);
      if (drawn.has(c)) continue;
      drawn.add(c);
      ids[k++] = c;
    }
    const excluded = new Uint8Array(b.size * K);
    for (let r = 0; r < b.size; r++) {
      const items = new Set(itemsOf.get(b.users[r]!)!);
      for (let k = 0; k < K; k++) if (items.has(ids[k]!)) excluded[r * K + k] = 1;
    }
    return { ...b, shared: { ids, excluded } };
  });
}
