import { nodeBuiltins, readJson, writeJsonAtomic } from '@mmesid/core';
import { type AdamW, loadSafetensors, MmesidError, saveSafetensors, tf } from '@mmesid/tensor';
import type { SasrecConfig } from './config.js';
import type { SASRec } from './model.js';
import { loadWeights, MODEL_FILE, NODE_ONLY, saveSasrec } from './model-io.js';
import type { TrainConfig } from './train-config.js';

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

/** Everything besides tensors that a resumed run needs; stored as `state.json`. */
export interface TrainingState {
  format: 'mmesid-sasrec-training';
  version: 1;
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

/** What {@link loadTrainingCheckpoint} found. */
export interface LoadedCheckpoint {
  state: TrainingState;
  /** The checkpoint's epoch directory. */
  dir: string;
}

const LATEST = 'latest.json';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const BEST_FILE = 'best.safetensors';
const STATE_FILE = 'state.json';

/**
 * Writes a resumable checkpoint: `<dir>/epoch-NNNN/` with `model.safetensors` + `config.json`,
 * `optimizer.safetensors` (Adam's `exp_avg`/`exp_avg_sq` per parameter, step in the metadata),
 * `best.safetensors` (the best validated weights, if any) and `state.json`; then `<dir>/latest.json`
 * is switched to it atomically and older epoch directories are removed. A crash at any point leaves
 * the previous checkpoint intact. Does not dispose anything.
 */
export async function saveTrainingCheckpoint(
  dir: string,
  parts: { model: SASRec; optimizer: AdamW; state: TrainingState; best: Record<string, tf.Tensor> | null },
): Promise<string> {
  const { fsp, path } = await nodeBuiltins(NODE_ONLY);
  const name = `epoch-${String(parts.state.epochsDone).padStart(4, '0')}`;
  const epochDir = path.join(dir, name);
  await fsp.mkdir(epochDir, { recursive: true });
  await saveSasrec(epochDir, parts.model);
  const opt = parts.optimizer.stateDict();
  await saveSafetensors(path.join(epochDir, OPTIMIZER_FILE), opt.tensors, {
    metadata: { step: String(opt.step) },
  });
  if (parts.best)
    await saveSafetensors(path.join(epochDir, BEST_FILE), parts.best, { metadata: { format: 'pt' } });
  await writeJsonAtomic(path.join(epochDir, STATE_FILE), parts.state);
  await writeJsonAtomic(path.join(dir, LATEST), { checkpoint: name });
  for (const entry of await fsp.readdir(dir)) {
    if (/^epoch-\d+$/.test(entry) && entry !== name)
      await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
  }
  return epochDir;
}

/**
 * Finds the checkpoint `<dir>/latest.json` points to and reads its `state.json`, or returns null
 * when `dir` holds no checkpoint yet. Load the tensors with {@link restoreTrainingCheckpoint}.
 */
export async function loadTrainingCheckpoint(dir: string): Promise<LoadedCheckpoint | null> {
  const { fsp, path } = await nodeBuiltins(NODE_ONLY);
  const latest = path.join(dir, LATEST);
  const exists = await fsp.access(latest).then(
    () => true,
    () => false,
  );
  if (!exists) return null;
  const pointer = (await readJson(latest)) as { checkpoint?: unknown };
  if (typeof pointer.checkpoint !== 'string' || !/^epoch-\d+$/.test(pointer.checkpoint))
    throw new MmesidError(`${latest}: expected {"checkpoint": "epoch-NNNN"}, got ${JSON.stringify(pointer)}`);
  const epochDir = path.join(dir, pointer.checkpoint);
  const stateFile = path.join(epochDir, STATE_FILE);
  const state = (await readJson(stateFile)) as TrainingState;
  if (state.format !== 'mmesid-sasrec-training' || state.version !== 1)
    throw new MmesidError(
      `${stateFile}: not a SASRec training state (format ${state.format}, version ${state.version})`,
    );
  return { state, dir: epochDir };
}

/**
 * Loads a checkpoint's tensors: the weights into `model` (strictly), Adam's moments and step into
 * `optimizer`, and returns the best validated weights (the caller owns and disposes them) or null.
 */
export async function restoreTrainingCheckpoint(
  loaded: LoadedCheckpoint,
  model: SASRec,
  optimizer: AdamW,
): Promise<Record<string, tf.Tensor> | null> {
  const { fsp, path } = await nodeBuiltins(NODE_ONLY);
  await loadWeights(model, path.join(loaded.dir, MODEL_FILE));
  const optFile = path.join(loaded.dir, OPTIMIZER_FILE);
  const moments = await loadSafetensors(optFile);
  try {
    // Inside tidy: AdamW.loadStateDict wraps clones in new variables without disposing the clones
    // (two leaked tensors per parameter otherwise); tidy frees them and keeps the variables.
    tf.tidy(() =>
      optimizer.loadStateDict({ step: loaded.state.optimizerStep, tensors: Object.fromEntries(moments) }),
    );
  } finally {
    for (const t of moments.values()) t.dispose();
  }
  const bestFile = path.join(loaded.dir, BEST_FILE);
  const hasBest = await fsp.access(bestFile).then(
    () => true,
    () => false,
  );
  if (!hasBest) return null;
  return Object.fromEntries(await loadSafetensors(bestFile));
}
