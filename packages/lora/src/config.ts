import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/**
 * One way to name modules: a plain name or dotted suffix (`'gate_proj'`, `'mlp.gate_proj'`), a glob
 * (`'model.layers.*.mlp.*_proj'`, `*` = within one path component, `**` = across components, `?` =
 * one character), or a `RegExp` that must match the whole dotted path. See {@link matchesPattern}.
 */
export type TargetPattern = string | RegExp;

const pattern = z.union([z.string().min(1), z.instanceof(RegExp)]);

/**
 * Validates LoRA options. Defaults are PEFT's `LoraConfig` defaults (r 8, alpha 8, dropout 0), so an
 * adapter configured the same way in Python and here behaves the same.
 *
 * Fields, in the paper's and PEFT's terms:
 * - `r`: the rank of the update `ΔW = B A` (MME-SID uses 8).
 * - `alpha`: `lora_alpha`; the update is scaled by `alpha / r` (MME-SID uses 16, so 2), or by
 *   `alpha / sqrt(r)` with `useRslora`.
 * - `dropout`: `lora_dropout`, applied to the adapter's input only, in training mode only (MME-SID 0.05).
 * - `targetModules`: which `Linear` modules get an adapter (MME-SID: `gate_proj`, `up_proj`,
 *   `down_proj`), or `'all-linear'` for every Linear except `lm_head`.
 * - `excludeModules`: patterns removed from what `targetModules` selected.
 * - `modulesToSave`: modules (any kind) that are trained in full and saved with the adapter
 *   (PEFT's `modules_to_save`, e.g. a new classification head).
 * - `seed`: seeds the init of every `lora_A` and the dropout masks (per module path, so adding a
 *   target does not change the others' init).
 */
export const LoraConfigSchema = z.object({
  r: z.number().int().positive().default(8),
  alpha: z.number().positive().default(8),
  dropout: z.number().min(0).lt(1).default(0),
  targetModules: z.union([z.literal('all-linear'), pattern, z.array(pattern).min(1).readonly()]),
  excludeModules: z.array(pattern).readonly().default([]),
  modulesToSave: z.array(pattern).readonly().default([]),
  seed: z.number().int().default(0),
  useRslora: z.boolean().default(false),
});

/** What `applyLora` accepts: every field but `targetModules` is optional. */
export type LoraOptions = z.input<typeof LoraConfigSchema>;
/** A validated config with every default filled in. */
export type LoraConfig = z.output<typeof LoraConfigSchema>;

/** The defaults of every optional field of {@link LoraConfigSchema} (PEFT's `LoraConfig` defaults). */
export const LORA_DEFAULTS = Object.freeze({
  r: 8,
  alpha: 8,
  dropout: 0,
  excludeModules: [] as readonly TargetPattern[],
  modulesToSave: [] as readonly TargetPattern[],
  seed: 0,
  useRslora: false,
});

/**
 * Validates options and fills defaults.
 *
 * @throws ConfigError listing every invalid field
 * @example
 * const cfg = parseLoraConfig({ r: 8, alpha: 16, dropout: 0.05, targetModules: ['gate_proj', 'up_proj', 'down_proj'] });
 * cfg.seed; // 0
 */
export function parseLoraConfig(options: LoraOptions): LoraConfig {
  const r = LoraConfigSchema.safeParse(options);
  if (!r.success) throw new ConfigError(`invalid LoRA config:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/**
 * The factor that multiplies `B A x`: `alpha / r`, or `alpha / sqrt(r)` for rank-stabilised LoRA
 * (Kalajdzievski 2023, PEFT's `use_rslora`).
 *
 * @example
 * loraScaling({ r: 8, alpha: 16, useRslora: false }); // 2
 */
export function loraScaling(cfg: Pick<LoraConfig, 'r' | 'alpha' | 'useRslora'>): number {
  return cfg.useRslora ? cfg.alpha / Math.sqrt(cfg.r) : cfg.alpha / cfg.r;
}
