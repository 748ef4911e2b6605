import { type Module, openCheckpoint, ShapeError, saveSafetensors, type tf } from '@mmesid/tensor';
import { WeightNameError } from '../errors.js';
import { mapWeightNames, type WeightNameMapping, type WeightNameTable } from './weight-name-table.js';

/** What {@link loadWeights} loaded. */
export interface LoadWeightsReport extends WeightNameMapping {
  /** Number of parameters assigned. */
  readonly loaded: number;
}

/**
 * Loads a module's parameters from a safetensors checkpoint (a `.safetensors` file, a directory with
 * `model.safetensors`, or a sharded `model.safetensors.index.json`) through a weight-name table.
 *
 * Every checkpoint tensor must be mapped or explicitly ignored by the table, every mapped name must be
 * a parameter of the module with the same shape, and every parameter must be covered; otherwise
 * nothing is assigned and a `WeightNameError` / `ShapeError` names the file and tensors. Tensors are
 * read one at a time (F32, F16, BF16 all become float32), so peak memory is the model plus one tensor.
 * Node only.
 *
 * @example
 * const model = new ClipVisionModelWithProjection(cfg, { skipInit: true });
 * await loadWeights(model, '/models/LLM2CLIP-Openai-L-14-336', CLIP_VISION_NAMES);
 */
export async function loadWeights(
  module: Module,
  path: string,
  table: WeightNameTable,
): Promise<LoadWeightsReport> {
  const ckpt = await openCheckpoint(path);
  try {
    const file = ckpt.files.length === 1 ? ckpt.files[0]! : ckpt.dir;
    const mapping = mapWeightNames(ckpt.keys(), table, file);
    const own = module.stateDict();
    const notParams = [...mapping.mapped].filter(([, to]) => !(to in own)).map(([k, to]) => `${k} -> ${to}`);
    if (notParams.length)
      throw new WeightNameError(
        file,
        `${notParams.length} tensor(s) map to names the model does not have (wrong config or table?): ${notParams.slice(0, 10).join(', ')}`,
        notParams,
      );
    const covered = new Set(mapping.mapped.values());
    const missing = Object.keys(own).filter((k) => !covered.has(k));
    if (missing.length)
      throw new WeightNameError(
        file,
        `${missing.length} model parameter(s) are not in the checkpoint: ${missing.slice(0, 10).join(', ')}`,
        missing,
      );
    const bad: string[] = [];
    for (const [key, to] of mapping.mapped) {
      const shape = ckpt.info(key).shape;
      const want = own[to]!.shape;
      if (shape.length !== want.length || shape.some((s, i) => s !== want[i]))
        bad.push(`${key} is [${shape}], ${to} needs [${want}]`);
    }
    if (bad.length) throw new ShapeError(`${file}: shape mismatches: ${bad.slice(0, 10).join('; ')}`);
    for (const [key, to] of mapping.mapped) {
      const t = await ckpt.readTensor(key, { dtype: 'float32' });
      try {
        (own[to] as tf.Variable).assign(t);
      } finally {
        t.dispose();
      }
    }
    return { ...mapping, loaded: mapping.mapped.size };
  } finally {
    await ckpt.close();
  }
}

/**
 * Saves a module's parameters as safetensors under `prefix + name` (e.g. prefix `text_adapter.` for the
 * names an LLM2CLIP checkpoint uses), atomically, with `format: pt` so PyTorch loaders accept it.
 * Several modules can share one file: pass `extra` entries.
 *
 * @example
 * await saveWeights('adapter.safetensors', adapter, { prefix: 'text_adapter.' });
 */
export async function saveWeights(
  path: string,
  module: Module,
  options: { prefix?: string; extra?: Record<string, tf.Tensor>; metadata?: Record<string, string> } = {},
): Promise<void> {
  const out: Record<string, tf.Tensor> = { ...(options.extra ?? {}) };
  for (const [name, t] of Object.entries(module.stateDict())) out[`${options.prefix ?? ''}${name}`] = t;
  await saveSafetensors(path, out, { metadata: { format: 'pt', ...(options.metadata ?? {}) } });
}
