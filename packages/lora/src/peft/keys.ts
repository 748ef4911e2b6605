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

/** What a module-relative parameter name of a LoRA-wrapped model is (see {@link loraKeyKind}). */
export type LoraKeyKind =
  /** `...gate_proj.lora_A.weight` / `lora_B`: an adapter matrix. */
  | { kind: 'adapter'; module: string; matrix: 'lora_A' | 'lora_B' }
  /** `...gate_proj.base_layer.weight`: a wrapped base parameter; `plainKey` is its name without LoRA (`...gate_proj.weight`). */
  | { kind: 'base'; module: string; param: 'weight' | 'bias'; plainKey: string }
  /** Anything else (a parameter no adapter wraps). */
  | { kind: 'other' };

/**
 * Classifies a state-dict key of a model with LoRA applied (`LoraLinear` registers the wrapped
 * Linear as `base_layer` and the adapters as `lora_A` / `lora_B`, PEFT's names). The one place
 * those names are parsed, e.g. to write a merged checkpoint under plain Hugging Face names.
 *
 * @example
 * loraKeyKind('model.layers.0.mlp.up_proj.base_layer.weight');
 * // { kind: 'base', module: 'model.layers.0.mlp.up_proj', param: 'weight', plainKey: 'model.layers.0.mlp.up_proj.weight' }
 */
export function loraKeyKind(name: string): LoraKeyKind {
  const a = /^(.*)\.(lora_[AB])\.weight$/.exec(name);
  if (a) return { kind: 'adapter', module: a[1]!, matrix: a[2] as 'lora_A' | 'lora_B' };
  const b = /^(.*)\.base_layer\.(weight|bias)$/.exec(name);
  if (b)
    return { kind: 'base', module: b[1]!, param: b[2] as 'weight' | 'bias', plainKey: `${b[1]}.${b[2]}` };
  return { kind: 'other' };
}
