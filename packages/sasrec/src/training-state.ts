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
