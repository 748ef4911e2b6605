import {
  type AdamW,
  MmesidError,
  readTrainingCheckpoint,
  restoreTrainingCheckpoint,
  saveTrainingCheckpoint as saveCheckpointFiles,
  TRAINING_CHECKPOINT_FILES,
  tf,
} from '@mmesid/tensor';
import type { RqvaeConfig } from './config.js';
import type { MMRQVAE } from './mm-rqvae.js';
import type { TrainOptions } from './train-options.js';

/** Counters of a training run that a resume continues from. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  bestLoss: number;
  /** 0-based epoch of `bestLoss` (-1 before the first epoch). */
  bestEpoch: number;
  /** Epochs since the best one (early-stopping counter). */
  sinceBest: number;
  /** Seconds of training so far (summed over resumed runs). */
  seconds: number;
  /** Mean training loss of every completed epoch. */
  history: number[];
  /** Mean validation loss of every completed epoch (with `validationFraction`). */
  validationHistory?: number[];
}

/** The `format` of an MM-RQ-VAE training checkpoint. */
export const RQVAE_CHECKPOINT_FORMAT = 'mmesid-rqvae-checkpoint';

/** What `trainer_state.json`'s `state` holds for an MM-RQ-VAE run. */
interface RqvaeCheckpointState {
  train: TrainState;
  config: RqvaeConfig;
  trainOptions: TrainOptions;
}

/**
 * Writes a resumable checkpoint in the layout of @mmesid/tensor's `saveTrainingCheckpoint`:
 * `<dir>/checkpoint/` with `model.safetensors` (current weights), `optimizer.safetensors` (AdamW
 * moments), `best.safetensors` (the weights of the best epoch so far, if any) and
 * `trainer_state.json` (counters, configs), replaced atomically.
 */
export async function saveTrainingCheckpoint(
  dir: string,
  parts: {
    model: MMRQVAE;
    optimizer: AdamW;
    best: Map<string, tf.Tensor> | null;
    state: TrainState;
    options: TrainOptions;
  },
): Promise<void> {
  await saveCheckpointFiles<RqvaeCheckpointState>(dir, {
    format: RQVAE_CHECKPOINT_FORMAT,
    weights: parts.model.stateDict(),
    optimizer: parts.optimizer,
    best: parts.best,
    state: { train: parts.state, config: parts.model.config, trainOptions: parts.options },
  });
}

/**
 * Loads `<dir>/checkpoint/` into `model` and `optimizer` if it exists and returns its counters and
 * best weights (the caller disposes them), or null when there is no checkpoint. A checkpoint whose
 * config differs from the model's is refused.
 */
export async function loadTrainingCheckpoint(
  dir: string,
  model: MMRQVAE,
  optimizer: AdamW,
): Promise<{ state: TrainState; best: Map<string, tf.Tensor> | null } | null> {
  const found = await readTrainingCheckpoint<RqvaeCheckpointState>(dir, RQVAE_CHECKPOINT_FORMAT);
  if (!found) return null;
  if (JSON.stringify(found.state.config) !== JSON.stringify(model.config))
    throw new MmesidError(
      `${found.dir}/${TRAINING_CHECKPOINT_FILES.state}: the checkpoint was trained with a different config; resume with the same config or use another checkpointDir`,
    );
  const { weights, best } = await restoreTrainingCheckpoint(found, optimizer);
  try {
    model.loadStateDict(Object.fromEntries(weights), {
      context: `${found.dir}/${TRAINING_CHECKPOINT_FILES.weights}`,
    });
  } catch (e) {
    if (best) tf.dispose([...best.values()]);
    throw e;
  } finally {
    tf.dispose([...weights.values()]);
  }
  return { state: found.state.train, best };
}
