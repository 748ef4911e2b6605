/**
 * Tensor names in PEFT's `adapter_model.safetensors`: `get_peft_model_state_dict` prefixes every module
 * path with `base_model.model.` (PeftModel -> LoraModel -> the wrapped model) and drops the adapter
 * name, so `model.layers.0.mlp.gate_proj.lora_A.default.weight` is saved as
 * `base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight`.
 */
export const PEFT_PREFIX = 'base_model.model.';

/** The saved name of a module-relative key (`model.layers.0.mlp.gate_proj.lora_A.weight`). */
export function toPeftKey(modelKey: string): string {
  return PEFT_PREFIX + modelKey;
}

/**
 * The module-relative key of a saved name, or null when it lacks the `base_model.model.` prefix.
 * Tolerates an adapter name left in the key (`lora_A.default.weight`, `modules_to_save.default.weight`),
 * which some third-party writers keep.
 */
export function fromPeftKey(peftKey: string): string | null {
  if (!peftKey.startsWith(PEFT_PREFIX)) return null;
  return peftKey
    .slice(PEFT_PREFIX.length)
    .replace(/\.(lora_[AB])\.default\.weight$/, '.$1.weight')
    .replace(/\.modules_to_save\.default\./, '.');
}
