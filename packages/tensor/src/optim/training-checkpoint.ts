/**
 * The one on-disk layout of a resumable training run, shared by every trainer of mmesid (SASRec,
 * MM-RQ-VAE, the MME-SID fine-tuning). A checkpoint is the directory `<checkpointDir>/checkpoint/`,
 * replaced as a unit (a crash leaves the previous one intact), Hugging Face / PyTorch style:
 *
 * - `model.safetensors`: the trained tensors, by parameter path;
 * - `optimizer.safetensors`: AdamW's moments (`<param>.exp_avg`, `<param>.exp_avg_sq`), step in the
 *   metadata;
 * - `best.safetensors`: the best weights so far, when the trainer keeps them;
 * - `trainer_state.json`: `{ format, version, optimizerStep, state }`, `state` being the trainer's
 *   counters and configs;
 * - files the trainer adds (fusion's PEFT `adapter/`).
 */
import { nodeBuiltins, parseJson, pathExists, writeDirAtomic, writeJsonAtomic } from '@mmesid/core';
import { MmesidError } from '../errors.js';
import { loadSafetensors, saveSafetensors } from '../safetensors/file.js';
import type { tf } from '../tf.js';
import type { AdamW } from './adamw.js';

/** The names inside a checkpoint directory. */
export const TRAINING_CHECKPOINT_FILES = Object.freeze({
  dir: 'checkpoint',
  weights: 'model.safetensors',
  optimizer: 'optimizer.safetensors',
  best: 'best.safetensors',
  state: 'trainer_state.json',
});

/** The layout version written to `trainer_state.json`. */
export const TRAINING_CHECKPOINT_VERSION = 1;

const NODE_ONLY = 'training checkpoints';

/** What {@link saveTrainingCheckpoint} writes. */
export interface TrainingCheckpointParts<S> {
  /** Names the trainer (`'mmesid-sasrec'`); a checkpoint of another format is refused on load. */
  format: string;
  weights: Record<string, tf.Tensor> | Map<string, tf.Tensor>;
  optimizer: AdamW;
  best?: Record<string, tf.Tensor> | Map<string, tf.Tensor> | null;
  /** JSON-serialisable counters and configs. */
  state: S;
  /** Writes the trainer's own files into the (temporary) checkpoint directory. */
  extra?: (dir: string) => Promise<void>;
}

/** A checkpoint found by {@link readTrainingCheckpoint}. */
export interface FoundTrainingCheckpoint<S> {
  /** The checkpoint directory (`<checkpointDir>/checkpoint`). */
  dir: string;
  state: S;
  optimizerStep: number;
}

/**
 * Writes `<checkpointDir>/checkpoint/` as one unit and returns its path. Nothing is disposed.
 *
 * @example
 * await saveTrainingCheckpoint('runs/a', { format: 'my-trainer', weights: model.stateDict(), optimizer, state: { epoch } });
 */
export async function saveTrainingCheckpoint<S>(
  checkpointDir: string,
  parts: TrainingCheckpointParts<S>,
): Promise<string> {
  const { path } = await nodeBuiltins(NODE_ONLY);
  const target = path.join(checkpointDir, TRAINING_CHECKPOINT_FILES.dir);
  const opt = parts.optimizer.stateDict();
  await writeDirAtomic(target, async (tmp) => {
    await saveSafetensors(path.join(tmp, TRAINING_CHECKPOINT_FILES.weights), parts.weights, {
      metadata: { format: 'pt' },
    });
    await saveSafetensors(path.join(tmp, TRAINING_CHECKPOINT_FILES.optimizer), opt.tensors, {
      metadata: { format: 'pt', step: String(opt.step) },
    });
    if (parts.best)
      await saveSafetensors(path.join(tmp, TRAINING_CHECKPOINT_FILES.best), parts.best, {
        metadata: { format: 'pt' },
      });
    await parts.extra?.(tmp);
    await writeJsonAtomic(path.join(tmp, TRAINING_CHECKPOINT_FILES.state), {
      format: parts.format,
      version: TRAINING_CHECKPOINT_VERSION,
      optimizerStep: opt.step,
      state: parts.state,
    });
  });
  return target;
}

/** Files a checkpoint directory held before this layout (each trainer had its own). */
const LEGACY_MARKERS = ['latest.json', 'latest', 'checkpoint/state.json'];

/**
 * Reads `<checkpointDir>/checkpoint/trainer_state.json`, or returns null when there is no
 * checkpoint yet. Compare `state` with the run's configs, then {@link restoreTrainingCheckpoint}.
 *
 * @throws {MmesidError} naming `trainer_state.json` when the checkpoint is of another `format` or
 *   version, the file is not JSON, has a duplicate key, a malformed `optimizerStep` or `state`, or is
 *   missing from an existing checkpoint directory; or naming the old file when `checkpointDir` holds a
 *   checkpoint in an older layout (delete it: it cannot be resumed)
 */
export async function readTrainingCheckpoint<S>(
  checkpointDir: string,
  format: string,
): Promise<FoundTrainingCheckpoint<S> | null> {
  const { path, fsp } = await nodeBuiltins(NODE_ONLY);
  const dir = path.join(checkpointDir, TRAINING_CHECKPOINT_FILES.dir);
  const file = path.join(dir, TRAINING_CHECKPOINT_FILES.state);
  let text: string | undefined;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== 'ENOENT')
      throw Object.assign(new MmesidError(`${file}: cannot read (${(e as Error).message})`, { cause: e }), {
        code,
      });
  }
  if (text === undefined) {
    for (const legacy of LEGACY_MARKERS)
      if (await pathExists(path.join(checkpointDir, legacy)))
        throw new MmesidError(
          `${path.join(checkpointDir, legacy)}: a training checkpoint in the layout before ${TRAINING_CHECKPOINT_FILES.dir}/${TRAINING_CHECKPOINT_FILES.state}; ` +
            'it cannot be resumed: delete it (or pick another checkpoint directory) to start over',
        );
    // The directory is replaced as a unit, so one without its state file was damaged after the fact.
    if (await pathExists(dir))
      throw new MmesidError(
        `${file}: missing, but ${dir} exists: the checkpoint is incomplete (damaged or partly deleted); delete ${dir} to start over`,
      );
    return null;
  }
  // A key said twice is refused (JSON.parse would keep the last one, silently).
  const parsed = parseJson(text, file);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new MmesidError(
      `${file}: expected { format, version, optimizerStep, state }, got ${describe(parsed)}`,
    );
  const json = parsed as { format?: unknown; version?: unknown; optimizerStep?: unknown; state?: unknown };
  if (json.format !== format || json.version !== TRAINING_CHECKPOINT_VERSION)
    throw new MmesidError(
      `${file}: not a ${format} checkpoint of version ${TRAINING_CHECKPOINT_VERSION} (format ${JSON.stringify(json.format)}, version ${JSON.stringify(json.version)})`,
    );
  if (
    !(
      typeof json.optimizerStep === 'number' &&
      Number.isSafeInteger(json.optimizerStep) &&
      json.optimizerStep >= 0
    )
  )
    throw new MmesidError(
      `${file}: optimizerStep: expected a non-negative integer, got ${describe(json.optimizerStep)}`,
    );
  if (typeof json.state !== 'object' || json.state === null || Array.isArray(json.state))
    throw new MmesidError(`${file}: state: expected the trainer's state object, got ${describe(json.state)}`);
  return { dir, state: json.state as S, optimizerStep: json.optimizerStep };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

/**
 * Loads a found checkpoint's tensors: AdamW's moments and step into `optimizer` (strictly), and
 * returns the weights and the best weights (null when there are none) for the caller to assign;
 * the caller disposes both maps' tensors.
 *
 * @throws {StateDictError} when the optimiser's parameters and the saved moments differ
 */
export async function restoreTrainingCheckpoint(
  found: FoundTrainingCheckpoint<unknown>,
  optimizer: AdamW,
): Promise<{ weights: Map<string, tf.Tensor>; best: Map<string, tf.Tensor> | null }> {
  const { path } = await nodeBuiltins(NODE_ONLY);
  const optFile = path.join(found.dir, TRAINING_CHECKPOINT_FILES.optimizer);
  const moments = await loadSafetensors(optFile);
  try {
    optimizer.loadStateDict({ step: found.optimizerStep, tensors: Object.fromEntries(moments) }, optFile);
  } finally {
    for (const t of moments.values()) t.dispose();
  }
  const weights = await loadSafetensors(path.join(found.dir, TRAINING_CHECKPOINT_FILES.weights));
  const bestFile = path.join(found.dir, TRAINING_CHECKPOINT_FILES.best);
  try {
    const best = (await pathExists(bestFile)) ? await loadSafetensors(bestFile) : null;
    return { weights, best };
  } catch (e) {
    for (const t of weights.values()) t.dispose();
    throw e;
  }
}
