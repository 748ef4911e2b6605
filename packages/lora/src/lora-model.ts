import { MmesidError, type Module, type tf } from '@mmesid/tensor';
import type { LoraConfig } from './config.js';
import type { LoraLinear } from './lora-linear.js';
import { toPeftKey } from './peft/keys.js';
import { type TrainableSummary, trainableSummary } from './summary.js';

const registry = new WeakMap<Module, LoraModel>();

/**
 * The handle `applyLora` returns: the model (changed in place) plus what was done to it. Use it to
 * get the parameters to optimise, merge for inference, save in the PEFT layout, or take the
 * adapters out again.
 *
 * @example
 * const lora = applyLora(model, { r: 8, alpha: 16, dropout: 0.05, targetModules: ['gate_proj', 'up_proj', 'down_proj'] });
 * const opt = new AdamW(lora.trainableParameters(), { lr: 1e-4 });
 * console.log(lora.summary().text);
 * lora.merge(); // fast inference
 * const plain = lora.unwrap({ merge: true }); // a plain model with the update baked in
 */
export class LoraModel<M extends Module = Module> {
  private live = true;

  constructor(
    /** The model, with every target `Linear` replaced by a `LoraLinear` at the same path. */
    readonly model: M,
    /** The validated config the adapters were built from. */
    readonly config: LoraConfig,
    /** Every adapter by the dotted path of the Linear it wraps, in module order. */
    readonly layers: ReadonlyMap<string, LoraLinear>,
    /** Modules trained in full and saved with the adapter (`modulesToSave`), by path. */
    readonly savedModules: ReadonlyMap<string, Module>,
    private readonly trainableBefore: ReadonlyMap<tf.Variable, boolean>,
  ) {
    registry.set(model, this);
  }

  /** True when every adapter is merged into its base weight. */
  get merged(): boolean {
    this.assertLive();
    return [...this.layers.values()].every((l) => l.merged);
  }

  /** Merges every adapter into its base weight (`W += scaling * B A`); see `LoraLinear.merge`. */
  merge(): void {
    this.assertLive();
    for (const l of this.layers.values()) l.merge();
  }

  /** Undoes {@link merge} (`W -= scaling * B A`), exact up to float32 rounding. */
  unmerge(): void {
    this.assertLive();
    for (const l of this.layers.values()) l.unmerge();
  }

  /**
   * The parameters to give an optimiser: every `lora_A`/`lora_B` weight plus the parameters of
   * `modulesToSave`, keyed by their model paths. The base model is frozen.
   */
  trainableParameters(): Map<string, tf.Variable> {
    this.assertLive();
    return this.model.trainableParameters();
  }

  /** Counts in PEFT's `print_trainable_parameters` format (see {@link trainableSummary}). */
  summary(): TrainableSummary {
    this.assertLive();
    return trainableSummary(this.model);
  }

  /**
   * What PEFT saves: `lora_A`/`lora_B` weights and the parameters of `modulesToSave`, under PEFT key
   * names (`base_model.model.<path>.lora_A.weight`). The values are the live variables, not copies:
   * do not dispose them.
   */
  adapterStateDict(): Record<string, tf.Tensor> {
    this.assertLive();
    const out: Record<string, tf.Tensor> = {};
    for (const [path, l] of this.layers) {
      out[toPeftKey(`${path}.lora_A.weight`)] = l.loraA.weight;
      out[toPeftKey(`${path}.lora_B.weight`)] = l.loraB.weight;
    }
    for (const [path, m] of this.savedModules)
      for (const [name, p] of m.namedParameters(path)) out[toPeftKey(name)] = p;
    return out;
  }

  /**
   * Takes the adapters out and returns the plain model (same object): each `LoraLinear` is replaced
   * by its base `Linear` again, `lora_A`/`lora_B` are freed, and every parameter gets back the
   * `trainable` flag it had before `applyLora`. With `merge: true` the update stays in the base
   * weights (PEFT's `merge_and_unload`); otherwise the base weights are as before (`unload`; exact
   * if never merged, up to rounding if merged and unmerged). `modulesToSave` keep their trained values.
   * The handle is unusable afterwards.
   */
  unwrap(opts: { merge?: boolean } = {}): M {
    this.assertLive();
    for (const [path, l] of this.layers) {
      if (opts.merge) l.merge();
      else l.unmerge();
      this.model.replaceModule(path, l.release());
    }
    for (const [v, trainable] of this.trainableBefore) v.trainable = trainable;
    registry.delete(this.model);
    this.live = false;
    return this.model;
  }

  private assertLive(): void {
    if (!this.live) throw new MmesidError('LoraModel: this handle was unwrapped; its adapters are gone');
  }
}

/**
 * The LoRA handle of a model that `applyLora` or `loadAdapter` changed, or undefined. Lets code that
 * only holds the model (a trainer, an app) find its adapters.
 *
 * @example
 * const lora = getLora(model);
 * if (lora) await saveAdapter(lora, dir);
 */
export function getLora<M extends Module>(model: M): LoraModel<M> | undefined {
  return registry.get(model) as LoraModel<M> | undefined;
}

/**
 * Takes the adapters out of a model (see {@link LoraModel.unwrap}) and returns it.
 *
 * @throws MmesidError if the model carries no adapters
 * @example
 * const plain = removeLora(model, { merge: true }); // merge_and_unload
 */
export function removeLora<M extends Module>(model: M, opts: { merge?: boolean } = {}): M {
  const lora = getLora(model);
  if (!lora)
    throw new MmesidError('removeLora: this model has no LoRA adapters (applyLora or loadAdapter first)');
  return lora.unwrap(opts);
}
