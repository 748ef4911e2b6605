import { type Module, tf } from '@mmesid/tensor';
import { applyLoraConfig } from '../apply.js';
import type { LoraConfig } from '../config.js';
import type { LoraModel } from '../lora-model.js';

/**
 * Copies checked adapter tensors (model key -> tensor) into the variables of a LoRA model, undoing
 * and re-doing a merge around the copy so that merged base weights stay consistent. Internal.
 */
export function assignAdapterTensors(lora: LoraModel, values: ReadonlyMap<string, tf.Tensor>): void {
  const params = new Map(lora.model.namedParameters());
  const wasMerged = [...lora.layers.values()].some((l) => l.merged);
  if (wasMerged) lora.unmerge();
  for (const [key, t] of values) {
    const v = params.get(key);
    if (!v) throw new Error(`internal: no parameter ${key} after applying the adapter`);
    v.assign(t);
  }
  if (wasMerged) lora.merge();
}

/**
 * Applies `config` to `model` and fills the new adapters with `values` (already matched against the
 * model). On any failure the model is left as it was. Internal: the loaders share it.
 */
export function installAdapter<M extends Module>(
  model: M,
  config: LoraConfig,
  values: ReadonlyMap<string, tf.Tensor>,
  trainable: boolean,
): LoraModel<M> {
  // modulesToSave are overwritten by the file; keep their old values to restore on failure.
  const lora = applyLoraConfig(model, config);
  const backup = new Map<tf.Variable, tf.Tensor>();
  try {
    for (const [path, m] of lora.savedModules)
      for (const [, p] of m.namedParameters(path)) backup.set(p, tf.clone(p));
    assignAdapterTensors(lora, values);
  } catch (e) {
    for (const [v, old] of backup) v.assign(old);
    lora.unwrap();
    throw e;
  } finally {
    for (const t of backup.values()) t.dispose();
  }
  if (!trainable) for (const [, p] of lora.trainableParameters()) p.trainable = false;
  return lora;
}
