import { parseOptions } from '@mmesid/core';
import { z } from 'zod';

/**
 * Training options of {@link trainRqvae}, with the authors' released values where they exist
 * (`MM-RQ-VAE/main_new_MM.py`, `train_tokenizer_MM.sh`).
 */
export const TrainOptionsSchema = z.strictObject({
  /** AdamW learning rate. Authors: 2e-4 (`--lr 2e-4`). */
  lr: z.number().positive().default(2e-4),
  /** AdamW decoupled weight decay. Authors: 1e-4. */
  weightDecay: z.number().nonnegative().default(1e-4),
  /** Items per batch. Authors: 1024. */
  batchSize: z.number().int().positive().default(1024),
  /** Upper bound on epochs. Authors: 20000. */
  maxEpochs: z.number().int().positive().default(20000),
  /**
   * Early stopping: stop after this many epochs without a lower training loss and keep the best
   * epoch's weights. Authors: 2000 (`--maxe`). 0 disables it.
   */
  patience: z.number().int().nonnegative().default(2000),
  /**
   * Validation early stopping: hold out this fraction of the items (a seeded choice, at least one)
   * and stop on their loss (the same total loss, in eval mode, after every epoch) instead of the
   * training loss; the best epoch by validation loss is restored. The held-out items get IDs like any
   * other, but they take no part in training, the k-means init or dead-code resets. 0 (default):
   * the authors' criterion, the training loss over all items.
   */
  validationFraction: z.number().min(0).lt(1).default(0),
  /** Stop after this many seconds of training (checked between epochs); 0 means no limit. */
  maxSeconds: z.number().nonnegative().default(0),
  /** Global gradient-norm clipping; unset means none (the authors clip nothing). */
  clipNorm: z.number().positive().optional(),
  /** Apply the config's Sinkhorn epsilons while training (the authors do). */
  sinkhorn: z.boolean().default(true),
  /**
   * Dead codes: every this many epochs, codes that no item uses are moved onto randomly chosen
   * residuals of their level (0, the authors' choice, never does). See `resetDeadCodes`.
   */
  deadCodeEvery: z.number().int().nonnegative().default(0),
  /** Seed of the batch order (epoch e shuffles with `${seed}:epoch:${e}`, so a resumed run draws the same batches). */
  seed: z.number().int().default(42),
  /** Directory for checkpoints; unset means none are written. */
  checkpointDir: z.string().optional(),
  /** Write a checkpoint every this many epochs (and at the end). */
  checkpointEvery: z.number().int().positive().default(50),
  /** Continue from `checkpointDir` if it holds a checkpoint. */
  resume: z.boolean().default(true),
  /** Print a progress line every this many epochs (0: never). */
  logEvery: z.number().int().nonnegative().default(10),
});

export type TrainOptions = z.output<typeof TrainOptionsSchema>;
export type TrainOptionsInput = z.input<typeof TrainOptionsSchema>;

/** The defaults of {@link TrainOptionsSchema}: the authors' released values. */
export const TRAIN_DEFAULTS: TrainOptions = TrainOptionsSchema.parse({});

/** Validates training options and fills defaults. */
export function parseTrainOptions(input: TrainOptionsInput = {}): TrainOptions {
  return parseOptions(TrainOptionsSchema, input, 'MM-RQ-VAE training options');
}
