import { AdamW, ConfigError, Rng, Trainer, warmupCosineSchedule } from '@mmesid/tensor';
import type { GenerativeExample, GenerativeRecommender } from './generative-model.js';

/** Options of {@link trainGenerative}. Budgets are epochs/steps, never time. */
export interface TrainGenerativeOptions {
  /** Passes over the examples (default 1). */
  epochs?: number;
  /** Stop after this many optimiser steps (default: no limit). */
  maxSteps?: number;
  /** Examples per forward (default 16, MME-SID Table 4). */
  batchSize?: number;
  /** Peak learning rate (default 3e-4, MME-SID Beauty). */
  lr?: number;
  /** Linear warm-up steps before cosine decay (default 100, capped at a tenth of the run). */
  warmupSteps?: number;
  weightDecay?: number;
  /** Global gradient-norm clip (default 1). */
  clipNorm?: number;
  /**
   * Softmax temperature of the loss (default 1, plain next-token cross-entropy); below 1 it is
   * LETTER's ranking-guided generation loss ({@link GenerativeRecommender.loss}).
   */
  temperature?: number;
  /** Shuffles the examples each epoch. */
  seed?: number;
  /** Called after every optimiser step. */
  onStep?: (s: { step: number; epoch: number; loss: number; lr: number }) => void;
}

/** What {@link trainGenerative} did. */
export interface TrainGenerativeResult {
  steps: number;
  /** Mean loss of each epoch (a partial last epoch when `maxSteps` stopped it). */
  epochLoss: number[];
  /** Loss of every step. */
  losses: number[];
}

/**
 * Next-token training of the SID generator: batches of (history, target) with the target item's
 * SID tokens as labels ({@link GenerativeRecommender.loss}), AdamW on LoRA's A/B and the new token
 * tables, linear warm-up then cosine decay, gradient clipping. The base Llama stays frozen.
 * Leaves no tensors behind (the trainer's state is freed at the end).
 *
 * @see TIGER (next-token cross-entropy over semantic IDs); MME-SID Table 4 (LoRA, lr, batch size)
 */
export async function trainGenerative(
  model: GenerativeRecommender,
  examples: readonly GenerativeExample[],
  opts: TrainGenerativeOptions = {},
): Promise<TrainGenerativeResult> {
  if (examples.length === 0) throw new ConfigError('trainGenerative: no training examples');
  const epochs = opts.epochs ?? 1;
  const batchSize = opts.batchSize ?? 16;
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new ConfigError(`trainGenerative: epochs must be >= 1, got ${epochs}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new ConfigError(`trainGenerative: batchSize must be >= 1, got ${batchSize}`);
  const perEpoch = Math.ceil(examples.length / batchSize);
  const total = Math.min(epochs * perEpoch, opts.maxSteps ?? Number.POSITIVE_INFINITY);
  const warmup = Math.min(opts.warmupSteps ?? 100, Math.floor(total / 10));
  const params = model.trainableParameters();
  if (params.size === 0) throw new ConfigError('trainGenerative: the model has no trainable parameters');
  const optimizer = new AdamW(params, {
    lr: opts.lr ?? 3e-4,
    weightDecay: opts.weightDecay ?? 0,
  });
  const trainer = new Trainer({
    optimizer,
    clipNorm: opts.clipNorm ?? 1,
    schedule: warmupCosineSchedule(warmup, total),
  });
  const temperature = opts.temperature ?? 1;
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new ConfigError(`trainGenerative: temperature must be a positive number, got ${temperature}`);
  const rng = new Rng(`generative-train:${opts.seed ?? 0}`);
  const losses: number[] = [];
  const epochLoss: number[] = [];
  const wasTraining = model.training;
  model.train();
  let step = 0;
  try {
    for (let epoch = 0; epoch < epochs && step < total; epoch++) {
      const order = rng.shuffle(Array.from(examples.keys()));
      let sum = 0;
      let n = 0;
      for (let b = 0; b < order.length && step < total; b += batchSize) {
        const batch = order.slice(b, b + batchSize).map((i) => examples[i]!);
        const res = await trainer.step(() => model.loss(batch, { temperature }));
        step++;
        losses.push(res.loss);
        sum += res.loss;
        n++;
        opts.onStep?.({ step, epoch, loss: res.loss, lr: res.lr ?? optimizer.lr });
      }
      epochLoss.push(sum / Math.max(1, n));
    }
  } finally {
    trainer.dispose();
    optimizer.dispose();
    model.train(wasTraining);
  }
  return { steps: step, epochLoss, losses };
}
