import { parseOptions } from '@mmesid/core';
import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/**
 * Fine-tuning hyper-parameters. Defaults follow the authors' run (`MME-SID.py` + `finetune.py`
 * through Hugging Face's Trainer): AdamW (no weight decay, the Trainer's default), learning rate
 * 3e-4, 100 warm-up steps then cosine decay, effective batch 16, gradient clipping at norm 1 (the
 * Trainer's default), 4 epochs. The micro-batch only changes memory, not the result (up to
 * rounding), except in `'efficient'` mode where a micro-batch counts user sequences.
 *
 * @example
 * const cfg = parseTrainConfig({ mode: 'efficient', epochs: 1, microBatch: 4 });
 */
export const TrainConfigSchema = z.strictObject({
  /**
   * `'paper'`: one forward per (history, target) pair of the leave-one-out training split, as the
   * authors. `'efficient'`: one forward per user sequence, scoring every training position at once
   * (causal attention makes the hidden state at each item a representation of the prefix ending
   * there). Same pairs, same function; it needs `itemsAtEnd` in the model config.
   */
  mode: z.enum(['paper', 'efficient']).default('paper'),
  epochs: z.number().positive().default(4),
  lr: z.number().positive().default(3e-4),
  warmupSteps: z.number().int().nonnegative().default(100),
  /**
   * Warm-up as a fraction of the run's optimiser steps (rounded, at least 1), instead of
   * `warmupSteps`: how a scaled-down run keeps the paper's proportion (Table 4: 100 of Beauty's
   * 37,512 steps).
   */
  warmupFraction: z.number().min(0).max(1).optional(),
  weightDecay: z.number().nonnegative().default(0),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  /** Gradient-norm clip applied to each accumulated update (0 turns it off). */
  clipNorm: z.number().nonnegative().default(1),
  /** Examples (paper mode) or user sequences (efficient mode) per optimiser step. Paper: 16. */
  effectiveBatch: z.number().int().positive().default(16),
  /** Examples or sequences per forward pass; must divide `effectiveBatch`. */
  microBatch: z.number().int().positive().default(4),
  /** Stop after this many optimiser steps (the schedule still spans the whole run). */
  maxSteps: z.number().int().positive().optional(),
  /** Stop (after a whole optimiser step, with a checkpoint) once this many seconds have passed. */
  maxSeconds: z.number().positive().optional(),
  /** Use only the first N training pairs (after the seeded shuffle of epoch 0), for smoke runs and budgets. */
  maxExamples: z.number().int().positive().optional(),
  /**
   * Use only the pairs of N users (a seeded choice), every position of their sequences: the budget
   * that suits the efficient mode, where a user's whole sequence costs one forward pass.
   * Applied before `maxExamples`.
   */
  maxUsers: z.number().int().positive().optional(),
  /**
   * Validation early stopping: evaluate every this many optimiser steps (and at the last step) on the
   * validation pairs passed to `trainMmeSid` (nDCG@`validationK`, full ranking, or `hooks.validate`),
   * keep the weights of the best evaluation, stop after `patience` evaluations without improvement,
   * and end with the best weights. Off when unset. The step budget (`epochs`, `maxSteps`) still bounds
   * the run, and the cosine schedule spans the whole budget either way.
   */
  validateEvery: z.number().int().positive().optional(),
  /**
   * The same as `validateEvery` in evaluations per epoch: every floor(optimiser steps per epoch / n)
   * steps, at least 1. Set one of the two.
   */
  validationsPerEpoch: z.number().int().positive().optional(),
  /** Evaluations without an improvement of more than `minDelta` before training stops. */
  patience: z.number().int().positive().default(3),
  /** An evaluation improves on the best when it exceeds it by more than this. */
  minDelta: z.number().nonnegative().default(0),
  /** The validation metric is nDCG at this cut-off. */
  validationK: z.number().int().positive().default(10),
  /** Evaluate on a seeded choice of this many validation pairs (all when unset). */
  maxValidationUsers: z.number().int().positive().optional(),
  /** Write a checkpoint here every `checkpointEvery` optimiser steps and at the end; resume from it if present. */
  checkpointDir: z.string().min(1).optional(),
  checkpointEvery: z.number().int().positive().default(200),
  /** A progress line every this many optimiser steps. */
  logEvery: z.number().int().positive().default(10),
  /** Seed of the example order (and of BCE negatives). */
  seed: z.number().int().default(0),
});

/** A validated training config, defaults filled in. */
export type TrainConfig = z.output<typeof TrainConfigSchema>;
/** What callers pass to `trainMmeSid`: every field optional. */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** The defaults of {@link TrainConfigSchema}. */
export const TRAIN_DEFAULTS: TrainConfig = TrainConfigSchema.parse({});

/**
 * The authors' fine-tuning settings (`MME-SID.py`): 4 epochs, lr 3e-4, cosine with 100 warm-up
 * steps, batch 16 made of micro-batches of 1 per GPU on 8 GPUs.
 */
export const AUTHORS_TRAINING = Object.freeze({
  epochs: 4,
  lr: 3e-4,
  warmupSteps: 100,
  effectiveBatch: 16,
  weightDecay: 0,
  clipNorm: 1,
} satisfies Partial<TrainConfigInput>);

/** Validates a training config and fills defaults. @throws ConfigError listing every bad field */
export function parseTrainConfig(input: TrainConfigInput = {}): TrainConfig {
  const cfg = parseOptions(TrainConfigSchema, input, 'train config');
  if (cfg.validateEvery !== undefined && cfg.validationsPerEpoch !== undefined)
    throw new ConfigError(
      `train config: set validateEvery (${cfg.validateEvery}) or validationsPerEpoch (${cfg.validationsPerEpoch}), not both`,
    );
  if (cfg.effectiveBatch % cfg.microBatch !== 0)
    throw new ConfigError(
      `train config: microBatch ${cfg.microBatch} must divide effectiveBatch ${cfg.effectiveBatch} (gradient accumulation runs whole micro-batches)`,
    );
  return cfg;
}
