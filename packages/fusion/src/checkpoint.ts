import { loadAdapterWeights, saveAdapter } from '@mmesid/lora';
import {
  type AdamW,
  Dropout,
  loadSafetensors,
  MmesidError,
  readJsonIfExists,
  saveSafetensors,
  tf,
  writeDirAtomic,
  writeJsonAtomic,
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
}

/** The files of a training checkpoint directory. */
export const CHECKPOINT_FILES = Object.freeze({
  /** PEFT adapter directory (`adapter_config.json`, `adapter_model.safetensors`). */
  adapter: 'adapter',
  /** Every trainable tensor outside the LLM (item tokenizer, head), by model path. */
  trainable: 'trainable.safetensors',
  /** AdamW moments by parameter path (`<path>.exp_avg`, `<path>.exp_avg_sq`). */
  optimizer: 'optimizer.safetensors',
  /** `{ fusion, train, progress, optimizerStep, dropout }` (dropout: each mask stream's state by module path). */
  state: 'state.json',
});

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
 * Writes a checkpoint atomically: LoRA adapter (PEFT layout), the other trainable tensors and the
 * optimiser state as safetensors, and the configs plus progress as JSON.
 */
export async function saveCheckpoint(
  dir: string,
  model: MmeSidModel,
  optimizer: AdamW,
  state: { fusion: unknown; train: unknown; progress: TrainProgressState },
): Promise<void> {
  const { join } = await import('node:path');
  const opt = optimizer.stateDict();
  await writeDirAtomic(dir, async (tmp) => {
    if (model.lora)
      await saveAdapter(model.lora, join(tmp, CHECKPOINT_FILES.adapter), { taskType: 'FEATURE_EXTRACTION' });
    await saveSafetensors(join(tmp, CHECKPOINT_FILES.trainable), ownTrainable(model), {
      metadata: { format: 'pt' },
    });
    await saveSafetensors(join(tmp, CHECKPOINT_FILES.optimizer), opt.tensors, { metadata: { format: 'pt' } });
    await writeJsonAtomic(join(tmp, CHECKPOINT_FILES.state), {
      ...state,
      optimizerStep: opt.step,
      dropout: dropoutStates(model),
    });
  });
}

/**
 * Restores a checkpoint written by {@link saveCheckpoint} into a model built with the same config
 * and an optimiser over its trainable parameters. Returns the saved progress, or undefined when
 * `dir` holds no checkpoint.
 *
 * @throws MmesidError when the checkpoint was written for another config
 */
export async function loadCheckpoint(
  dir: string,
  model: MmeSidModel,
  optimizer: AdamW,
  expect: { fusion: unknown; train: unknown },
): Promise<TrainProgressState | undefined> {
  const { join } = await import('node:path');
  const state = (await readJsonIfExists(join(dir, CHECKPOINT_FILES.state))) as
    | {
        fusion: unknown;
        train: unknown;
        progress: TrainProgressState;
        optimizerStep: number;
        dropout?: Record<string, ReturnType<Dropout['rngState']>>;
      }
    | undefined;
  if (!state) return undefined;
  for (const key of ['fusion', 'train'] as const)
    if (comparable(key, state[key]) !== comparable(key, expect[key]))
      throw new MmesidError(
        `${join(dir, CHECKPOINT_FILES.state)}: this checkpoint was written with another ${key} config; delete it or use the same config to resume`,
      );
  if (model.lora) await loadAdapterWeights(model.lora, join(dir, CHECKPOINT_FILES.adapter));
  const own = await loadSafetensors(join(dir, CHECKPOINT_FILES.trainable));
  try {
    const mine = ownTrainable(model);
    const missing = Object.keys(mine).filter((k) => !own.has(k));
    if (missing.length)
      throw new MmesidError(`${join(dir, CHECKPOINT_FILES.trainable)}: missing ${missing.join(', ')}`);
    for (const [k, v] of Object.entries(mine)) {
      const t = own.get(k)!;
      if (t.shape.join() !== v.shape.join())
        throw new MmesidError(
          `${join(dir, CHECKPOINT_FILES.trainable)} [${k}]: shape [${t.shape}], the model has [${v.shape}]`,
        );
      v.assign(t);
    }
  } finally {
    for (const t of own.values()) t.dispose();
  }
  const opt = await loadSafetensors(join(dir, CHECKPOINT_FILES.optimizer));
  try {
    // AdamW.loadStateDict wraps a clone of each moment in a variable without disposing the clone;
    // inside tidy the clones are released (the variables keep the data).
    tf.tidy(() => optimizer.loadStateDict({ step: state.optimizerStep, tensors: Object.fromEntries(opt) }));
  } finally {
    for (const t of opt.values()) t.dispose();
  }
  // The dropout mask streams continue where they stopped, so a resumed run is bit-identical to an
  // uninterrupted one (checkpoints written before this was saved resume with fresh streams).
  if (state.dropout)
    for (const [path, m] of model.namedModules()) {
      const saved = state.dropout[path];
      if (m instanceof Dropout && saved) m.setRngState(saved);
    }
  return state.progress;
}
