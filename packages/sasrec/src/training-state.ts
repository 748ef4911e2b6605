import type { SasrecConfig } from './config.js';
import type { TrainConfig } from './train-config.js';

/** The `format` of a SASRec training checkpoint (see `saveTrainingCheckpoint` in @mmesid/tensor). */
export const SASREC_CHECKPOINT_FORMAT = 'mmesid-sasrec-training';

/** One epoch of a training run, as kept in the checkpoint and returned by `trainSasrec`. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Wall time of the epoch's training steps (validation excluded). */
  seconds: number;
  /** (input, target) positions trained on. */
  examples: number;
  examplesPerSecond: number;
  /** Validation metrics (`HR@10`, `NDCG@10`, ...) when this epoch was validated. */
  valid?: Record<string, number>;
  /** Wall time of the validation. */
  validSeconds?: number;
}

/**
 * Everything besides tensors that a resumed run needs: the `state` of the run's training checkpoint
 * (`checkpoint/trainer_state.json`, the layout of `saveTrainingCheckpoint` in @mmesid/tensor).
 */
export interface TrainingState {
  model: SasrecConfig;
  train: TrainConfig;
  /** Completed epochs; training resumes at epoch `epochsDone + 1`. */
  epochsDone: number;
  /** Adam's step count (also in optimizer.safetensors' metadata). */
  optimizerStep: number;
  /**
   * Every random stream is derived from the seed and the epoch (weights from the seed; batch order,
   * negatives and dropout masks from (seed, epoch)), so this is the whole RNG state: resuming at an
   * epoch boundary draws exactly what the uninterrupted run would have drawn.
   */
  rng: { seed: number; nextEpoch: number; streams: string[] };
  best: { epoch: number; ndcg10: number; valid: Record<string, number> } | null;
  /** Validations since the last improvement (early stopping counter). */
  badEvals: number;
  history: EpochRecord[];
  /** Training + validation seconds so far, across resumptions. */
  elapsedSeconds: number;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What is wrong with a checkpoint's `state` read from disk (undefined when it has the shape of a
 * {@link TrainingState}): the field and what was expected. The comparison of `model` and `train` with
 * the run's settings is the trainer's.
 */
export function trainingStateProblem(state: unknown): string | undefined {
  if (!isObj(state)) return 'state: expected an object';
  if (!isObj(state.model)) return 'state.model: expected the SASRec config object';
  if (!isObj(state.train)) return 'state.train: expected the training config object';
  if (!isInt(state.epochsDone))
    return `state.epochsDone: expected a non-negative integer, got ${JSON.stringify(state.epochsDone)}`;
  if (!isInt(state.optimizerStep)) return 'state.optimizerStep: expected a non-negative integer';
  if (!isInt(state.badEvals)) return 'state.badEvals: expected a non-negative integer';
  if (typeof state.elapsedSeconds !== 'number' || !(state.elapsedSeconds >= 0))
    return 'state.elapsedSeconds: expected a non-negative number';
  if (!Array.isArray(state.history) || state.history.length !== state.epochsDone)
    return `state.history: expected one record per finished epoch (${JSON.stringify(state.epochsDone)})`;
  for (const [i, r] of state.history.entries())
    if (!isObj(r) || r.epoch !== i + 1 || typeof r.loss !== 'number')
      return `state.history[${i}]: expected { epoch: ${i + 1}, loss: number, ... }`;
  const b = state.best;
  if (b !== null && !(isObj(b) && isInt(b.epoch) && typeof b.ndcg10 === 'number' && isObj(b.valid)))
    return 'state.best: expected null or { epoch, ndcg10, valid }';
  return undefined;
}
