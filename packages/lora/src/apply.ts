import { ConfigError, Linear, MmesidError, type Module, Rng, type tf } from '@mmesid/tensor';
import { type LoraConfig, type LoraOptions, loraScaling, parseLoraConfig } from './config.js';
import { LoraLinear } from './lora-linear.js';
import { getLora, LoraModel } from './lora-model.js';
import { resolveTargets } from './targets.js';

/**
 * Adds LoRA adapters to a model in place, as PEFT's `get_peft_model`: every `Linear` whose dotted
 * module path matches `targetModules` is replaced (at the same path, through `replaceModule`) by a
 * {@link LoraLinear} holding it as `base_layer`; every base parameter is frozen; only `lora_A`,
 * `lora_B` (and `modulesToSave`) are trainable. At init the model computes exactly what it did,
 * since B = 0.
 *
 * State-dict keys follow PEFT: `model.layers.0.mlp.gate_proj.weight` becomes
 * `model.layers.0.mlp.gate_proj.base_layer.weight`, next to `...gate_proj.lora_A.weight` [r, in]
 * and `...gate_proj.lora_B.weight` [out, r].
 *
 * Gotchas: one adapter per model (apply again after `unwrap`); the model's own `loadStateDict`
 * now expects the `base_layer` keys, so load base checkpoints before applying LoRA (or use
 * `loadAdapter` for the adapter).
 *
 * @param options see {@link LoraConfigSchema}; `targetModules` is required
 * @throws ConfigError when an option is invalid, a pattern matches no module (all of them are
 *   listed), a pattern selects a module that is not a Linear, or the model already has adapters
 * @see MME-SID, fine-tuning stage: LoRA (r 8, alpha 16, dropout 0.05) on gate_proj, up_proj, down_proj
 * @example
 * const lora = applyLora(llama, {
 *   r: 8, alpha: 16, dropout: 0.05, seed: 1,
 *   targetModules: ['gate_proj', 'up_proj', 'down_proj'],
 * });
 * lora.summary().text; // 'trainable params: ... || all params: ... || trainable%: ...'
 * const trainer = new Trainer({ optimizer: new AdamW(lora.trainableParameters(), { lr: 1e-4 }) });
 */
export function applyLora<M extends Module>(model: M, options: LoraOptions): LoraModel<M> {
  return applyLoraConfig(model, parseLoraConfig(options));
}

/** `applyLora` for an already validated config. Internal: loaders share it. */
export function applyLoraConfig<M extends Module>(model: M, config: LoraConfig): LoraModel<M> {
  if (getLora(model))
    throw new ConfigError('applyLora: this model already has LoRA adapters; unwrap() them first');
  const resolved = resolveTargets(model, config);
  const wrapped = resolved.targets.filter(([, m]) => !(m instanceof Linear)).map(([p]) => p);
  if (wrapped.length)
    resolved.problems.push(`these modules already carry a LoRA adapter: ${wrapped.join(', ')}`);
  if (resolved.problems.length) throw new ConfigError(`applyLora:\n- ${resolved.problems.join('\n- ')}`);

  const trainableBefore = new Map<tf.Variable, boolean>();
  for (const [, p] of model.namedParameters()) trainableBefore.set(p, p.trainable);
  const scaling = loraScaling(config);
  const layers = new Map<string, LoraLinear>();
  const seen = new Set<Linear>();
  try {
    model.setTrainable(false);
    for (const [path, m] of resolved.targets) {
      const linear = m as Linear;
      if (seen.has(linear))
        throw new MmesidError(
          `applyLora: the Linear at ${path} is registered at two paths; cannot wrap it twice`,
        );
      seen.add(linear);
      const layer = new LoraLinear(linear, {
        r: config.r,
        scaling,
        dropout: config.dropout,
        rng: new Rng(`lora:${config.seed}:${path}`),
      });
      model.replaceModule(path, layer);
      layers.set(path, layer);
    }
  } catch (e) {
    for (const [path, l] of layers) model.replaceModule(path, l.release());
    for (const [v, t] of trainableBefore) v.trainable = t;
    throw e;
  }
  const savedModules = new Map(resolved.saved);
  for (const m of savedModules.values()) m.setTrainable(true);
  return new LoraModel(model, config, layers, savedModules, trainableBefore);
}
