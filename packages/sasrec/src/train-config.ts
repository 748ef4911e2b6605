import { parseOptions } from '@mmesid/core';
import { z } from 'zod';

/**
 * How SASRec is trained. The defaults are the reference code's recipe (Adam, lr 1e-3,
 * betas (0.9, 0.98), batch 128 users, BCE with one negative per position, no weight decay) plus
 * validation-based early stopping on nDCG@10.
 */
export const TrainConfigSchema = z.strictObject({
  /** Seed of the initial weights, the batch order, the negatives and the dropout masks. */
  seed: z.number().int().default(42),
  /** Upper bound on epochs (passes over every user's training part). */
  epochs: z.number().int().positive().default(200),
  /** Users per batch; each contributes up to maxLen (input, target) positions. */
  batchSize: z.number().int().positive().default(128),
  /** Adam learning rate. */
  lr: z.number().positive().default(1e-3),
  /** Adam betas; the reference code uses (0.9, 0.98). */
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.98]),
  eps: z.number().positive().default(1e-8),
  /** Decoupled weight decay (0: plain Adam, as the reference). */
  weightDecay: z.number().min(0).default(0),
  /** Global gradient-norm clipping (unset: none, as the reference). */
  clipNorm: z.number().positive().optional(),
  /** The objective: `bce` (the paper's), `sampled-softmax` or `ce` (full softmax). */
  loss: z.enum(['bce', 'sampled-softmax', 'ce']).default('bce'),
  /** Negatives per position for `bce` and `sampled-softmax` (ignored by `ce`). */
  negatives: z.number().int().min(0).default(1),
  /**
   * With `sampled-softmax`: draw this many negatives per batch, shared by all its positions, instead
   * of `negatives` per position (0: off). Far cheaper per negative (one matrix product), so many
   * more negatives fit in a step.
   */
  sharedNegatives: z.number().int().min(0).default(0),
  /** Length bucketing window in batches (see `epochBatches`); 0 disables it. */
  bucketBatches: z.number().int().min(0).default(50),
  /** Validate every this many epochs (full ranking on the validation pairs). */
  evalEvery: z.number().int().positive().default(1),
  /** Stop after this many validations without a better nDCG@10. */
  patience: z.number().int().positive().default(10),
  /** Score only a seeded sample of this many validation users (unset: all, the authors' protocol). */
  validUsers: z.number().int().positive().optional(),
  /** Stop training once this many minutes have passed (checked after each epoch). */
  maxMinutes: z.number().positive().optional(),
  /** At the end, put the best validated weights back into the model (default true). */
  restoreBest: z.boolean().default(true),
  /** Users scored per evaluation batch. */
  evalBatchSize: z.number().int().positive().default(512),
});

/** A training config as accepted (every field optional). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
/** A training config with defaults filled in. */
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** The defaults of {@link TrainConfigSchema}. */
export const TRAIN_DEFAULTS: TrainConfig = TrainConfigSchema.parse({});

/** Validates a training config. @throws ConfigError naming the field at fault. */
export function trainConfig(input: TrainConfigInput = {}): TrainConfig {
  return parseOptions(TrainConfigSchema, input, 'SASRec training config');
}
