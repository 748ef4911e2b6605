import { loadAdapterWeights, saveAdapter } from '@mmesid/lora';
import {
  type AdamW,
  Dropout,
  MmesidError,
  readTrainingCheckpoint,
  restoreTrainingCheckpoint,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_FILES,
  tf,
} from '@mmesid/tensor';
import type { MmeSidModel } from './model.js';
/** Where a training run stands, saved beside the weights. */
export interface TrainProgressState {
  /** Micro-batches completed (always at an optimiser-step boundary). */
  microBatches: number;
  optimizerSteps: number;
  examplesSeen: number;
  seconds: number;
  lossCurve: { step: number; loss: number }[];
  /** Validation early stopping, when on (`validateEvery`). */
  validation?: ValidationState;
}

/** Where validation early stopping stands (saved in the checkpoint; the best weights beside it). */
export interface ValidationState {
  /** Every evaluation so far: optimiser step and metric. */
  evals: { step: number; metric: number }[];
  /** The best metric so far (-Infinity before the first evaluation; JSON writes it as null). */
  best: number | null;
  /** The optimiser step of the best evaluation (0 before the first). */
  bestStep: number;
  /** Evaluations since the best one. */
  sinceBest: number;
  /** Training ended on patience: a resumed run does not train further. */
  stopped: boolean;
}

/** The `format` of an MME-SID fine-tuning checkpoint. */
export const FUSION_CHECKPOINT_FORMAT = 'mmesid-fusion-finetune';

/**
 * The files of a fine-tuning checkpoint, `<checkpointDir>/checkpoint/` (the layout of
 * `saveTrainingCheckpoint` in @mmesid/tensor, plus the adapter).
 */
export const CHECKPOINT_FILES = Object.freeze({
  /** PEFT adapter directory (`adapter_config.json`, `adapter_model.safetensors`). */
  adapter: 'adapter',
  /** Every trainable tensor outside the LLM (item tokenizer, head), by model path. */
  trainable: TRAINING_CHECKPOINT_FILES.weights,
  /** AdamW moments by parameter path (`<path>.exp_avg`, `<path>.exp_avg_sq`). */
  optimizer: TRAINING_CHECKPOINT_FILES.optimizer,
  /** `{ format, version, optimizerStep, state: { fusion, train, progress } }`. */
  state: TRAINING_CHECKPOINT_FILES.state,
});

interface FusionCheckpointState {
  fusion: unknown;
  train: unknown;
  progress: TrainProgressState;
  /** Each dropout mask stream's state, by module path (so a resumed run is bit-identical). */
  dropout?: Record<string, ReturnType<Dropout['rngState']>>;
}

/** Trainable tensors of the model outside the LLM (the LoRA adapter is saved in PEFT's layout instead). */
export function ownTrainable(model: MmeSidModel): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, p] of model.namedParameters()) if (p.trainable && !name.startsWith('llm.')) out[name] = p;
  return out;
}

/** The state of every dropout mask stream of the model, by module path. */
function dropoutStates(model: MmeSidModel): Record<string, ReturnType<Dropout['rngState']>> {
  const out: Record<string, ReturnType<Dropout['rngState']>> = {};
  for (const [path, m] of model.namedModules()) if (m instanceof Dropout) out[path] = m.rngState();
  return out;
}

/**
 * Paths name where a run lives, not what it computes: a run directory that was moved or copied
 * must resume, so they are left out of what a checkpoint is compared on.
 */
function comparable(key: 'fusion' | 'train', v: unknown): string {
  if (key === 'train' && v && typeof v === 'object') {
    const { checkpointDir: _ignored, ...rest } = v as Record<string, unknown>;
    return JSON.stringify(rest);
  }
  return JSON.stringify(v);
}

/**
 * Writes `<checkpointDir>/checkpoint/` atomically: LoRA adapter (PEFT layout), the other trainable
 * tensors and the optimiser state as safetensors, and the configs plus progress as JSON.
 */
export async function saveCheckpoint(
  checkpointDir: string,
  model: MmeSidModel,
  optimizer: AdamW,
  state: FusionCheckpointState,
  best?: Map<string, tf.Tensor> | null,
): Promise<void> {
  const { join } = await import('node:path');
  const lora = model.lora;
  await saveTrainingCheckpoint<FusionCheckpointState>(checkpointDir, {
    format: FUSION_CHECKPOINT_FORMAT,
    weights: ownTrainable(model),
    optimizer,
    ...(best ? { best } : {}),
    state: { ...state, dropout: dropoutStates(model) },
    ...(lora
      ? {
          extra: async (tmp: string) => {
            await saveAdapter(lora, join(tmp, CHECKPOINT_FILES.adapter), { taskType: 'FEATURE_EXTRACTION' });
          },
        }
      : {}),
  });
}

/**
 * Restores a checkpoint written by {@link saveCheckpoint} into a model built with the same config
 * and an optimiser over its trainable parameters. Returns the saved progress and the best weights
 * of validation early stopping (every trainable tensor by parameter path, for the caller to keep
 * and dispose; null when there are none), or undefined when `checkpointDir` holds no checkpoint.
 *
 * @throws MmesidError when the checkpoint was written for another config
 */
export async function loadCheckpoint(
  checkpointDir: string,
  model: MmeSidModel,
  optimizer: AdamW,
  expect: { fusion: unknown; train: unknown },
): Promise<{ progress: TrainProgressState; best: Map<string, tf.Tensor> | null } | undefined> {
  const { join } = await import('node:path');
  const found = await readTrainingCheckpoint<FusionCheckpointState>(checkpointDir, FUSION_CHECKPOINT_FORMAT);
  if (!found) return undefined;
  for (const key of ['fusion', 'train'] as const)
    if (comparable(key, found.state[key]) !== comparable(key, expect[key]))
      throw new MmesidError(
        `${join(found.dir, CHECKPOINT_FILES.state)}: this checkpoint was written with another ${key} config; delete it or use the same config to resume`,
      );
  if (model.lora) await loadAdapterWeights(model.lora, join(found.dir, CHECKPOINT_FILES.adapter));
  const { weights: own, best } = await restoreTrainingCheckpoint(found, optimizer);
  const file = join(found.dir, CHECKPOINT_FILES.trainable);
  try {
    const mine = ownTrainable(model);
    const missing = Object.keys(mine).filter((k) => !own.has(k));
    if (missing.length) throw new MmesidError(`${file}: missing ${missing.join(', ')}`);
    for (const [k, v] of Object.entries(mine)) {
      const t = own.get(k)!;
      if (t.shape.join() !== v.shape.join())
        throw new MmesidError(`${file} [${k}]: shape [${t.shape}], the model has [${v.shape}]`);
      v.assign(t);
    }
    if (best) {
      const bestFile = join(found.dir, TRAINING_CHECKPOINT_FILES.best);
      for (const [k, v] of model.trainableParameters()) {
        const t = best.get(k);
        if (!t || t.shape.join() !== v.shape.join())
          throw new MmesidError(
            `${bestFile} [${k}]: ${t ? `shape [${t.shape}], the model has [${v.shape}]` : 'missing'}`,
          );
      }
    }
  } catch (e) {
    if (best) tf.dispose([...best.values()]);
    throw e;
  } finally {
    for (const t of own.values()) t.dispose();
  }
  // The dropout mask streams continue where they stopped, so a resumed run is bit-identical to an
  // uninterrupted one.
  const saved = found.state.dropout;
  if (saved)
    for (const [path, m] of model.namedModules()) {
      const st = saved[path];
      if (m instanceof Dropout && st) m.setRngState(st);
    }
  return { progress: found.state.progress, best };
}
