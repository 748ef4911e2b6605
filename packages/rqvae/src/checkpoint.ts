import {
  type AdamW,
  loadSafetensors,
  MmesidError,
  readJsonIfExists,
  saveSafetensors,
  tf,
  writeDirAtomic,
  writeJsonAtomic,
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
}

const LATEST = 'latest';
const STATE_FILE = 'trainer_state.json';

/**
 * Writes a resumable checkpoint to `<dir>/latest/`: `model.safetensors` (current weights),
 * `optimizer.safetensors` (AdamW moments, PyTorch's `exp_avg`/`exp_avg_sq` names), `best.safetensors`
 * (the weights of the best epoch so far, if any) and `trainer_state.json` (counters, configs).
 * The directory is replaced atomically.
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
  const { join } = await import('node:path');
  await writeDirAtomic(join(dir, LATEST), async (tmp) => {
    await saveSafetensors(join(tmp, 'model.safetensors'), parts.model.stateDict(), {
      metadata: { format: 'pt' },
    });
    const opt = parts.optimizer.stateDict();
    await saveSafetensors(join(tmp, 'optimizer.safetensors'), opt.tensors, {
      metadata: { step: String(opt.step) },
    });
    if (parts.best)
      await saveSafetensors(join(tmp, 'best.safetensors'), parts.best, { metadata: { format: 'pt' } });
    await writeJsonAtomic(join(tmp, STATE_FILE), {
      format: 'mmesid-rqvae-checkpoint',
      version: 1,
      state: parts.state,
      optimizerStep: opt.step,
      config: parts.model.config,
      trainOptions: parts.options,
    });
  });
}

/**
 * Loads `<dir>/latest/` into `model` and `optimizer` if it exists and returns its counters and best
 * weights (the caller disposes them), or null when there is no checkpoint. A checkpoint whose
 * config differs from the model's is refused.
 */
export async function loadTrainingCheckpoint(
  dir: string,
  model: MMRQVAE,
  optimizer: AdamW,
): Promise<{ state: TrainState; best: Map<string, tf.Tensor> | null } | null> {
  const { join } = await import('node:path');
  const root = join(dir, LATEST);
  const meta = (await readJsonIfExists(join(root, STATE_FILE))) as
    | { format?: string; state: TrainState; optimizerStep: number; config: RqvaeConfig }
    | undefined;
  if (!meta) return null;
  if (meta.format !== 'mmesid-rqvae-checkpoint')
    throw new MmesidError(`${join(root, STATE_FILE)}: not an MM-RQ-VAE checkpoint (format "${meta.format}")`);
  if (JSON.stringify(meta.config) !== JSON.stringify(model.config))
    throw new MmesidError(
      `${join(root, STATE_FILE)}: the checkpoint was trained with a different config; resume with the same config or use another checkpointDir`,
    );
  const weights = await loadSafetensors(join(root, 'model.safetensors'));
  try {
    model.loadStateDict(Object.fromEntries(weights), { context: join(root, 'model.safetensors') });
  } finally {
    tf.dispose([...weights.values()]);
  }
  const moments = await loadSafetensors(join(root, 'optimizer.safetensors'));
  try {
    // In a tidy: AdamW.loadStateDict makes a clone of each moment for its new variable and does not
    // free it; the variables keep their data when the tidy frees the clones.
    tf.tidy(() =>
      optimizer.loadStateDict({ step: meta.optimizerStep, tensors: Object.fromEntries(moments) }),
    );
  } finally {
    tf.dispose([...moments.values()]);
  }
  const { stat } = await import('node:fs/promises');
  const bestPath = join(root, 'best.safetensors');
  const hasBest = await stat(bestPath).then(
    () => true,
    () => false,
  );
  const best = hasBest ? await loadSafetensors(bestPath) : null;
  return { state: meta.state, best };
}
