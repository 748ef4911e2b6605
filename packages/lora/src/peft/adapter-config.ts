import { ConfigError, parseJson } from '@mmesid/tensor';
import { z } from 'zod';
import { type LoraConfig, parseLoraConfig, type TargetPattern } from '../config.js';
import { isPlainName } from '../targets.js';

const strOrList = z.union([z.string(), z.array(z.string())]);

/**
 * The schema of PEFT's `adapter_config.json` for LoRA (the `LoraConfig` dataclass serialised with
 * `to_dict`), as far as this package reads it. Unknown keys (PEFT adds fields every release) are
 * kept and ignored; fields we cannot honour are reported by {@link fromPeftConfig}.
 */
export const PeftLoraConfigSchema = z.looseObject({
  peft_type: z.literal('LORA'),
  task_type: z.string().nullable().optional(),
  base_model_name_or_path: z.string().nullable().optional(),
  revision: z.string().nullable().optional(),
  inference_mode: z.boolean().optional(),
  r: z.number().int().positive().default(8),
  lora_alpha: z.number().positive().default(8),
  lora_dropout: z.number().min(0).lt(1).default(0),
  target_modules: strOrList.nullable().optional(),
  exclude_modules: strOrList.nullable().optional(),
  modules_to_save: z.array(z.string()).nullable().optional(),
  bias: z.string().default('none'),
  fan_in_fan_out: z.boolean().default(false),
  use_rslora: z.boolean().default(false),
  use_dora: z.boolean().default(false),
  lora_bias: z.boolean().default(false),
  use_qalora: z.boolean().default(false),
  init_lora_weights: z.unknown().optional(),
  rank_pattern: z.record(z.string(), z.unknown()).nullable().default({}),
  alpha_pattern: z.record(z.string(), z.unknown()).nullable().default({}),
  layers_to_transform: z
    .union([z.number(), z.array(z.number())])
    .nullable()
    .optional(),
  layers_pattern: strOrList.nullable().optional(),
  layer_replication: z.unknown().optional(),
  trainable_token_indices: z.unknown().optional(),
  target_parameters: z.unknown().optional(),
  megatron_config: z.unknown().optional(),
});

/** A parsed `adapter_config.json`. */
export type PeftLoraConfig = z.output<typeof PeftLoraConfigSchema>;

/**
 * Parses the text of an `adapter_config.json`.
 *
 * @param file named in error messages
 * @throws ConfigError for invalid JSON or a field of the wrong type (e.g. `peft_type` other than LORA)
 * @example
 * const peft = parsePeftConfig(await readFile('adapter/adapter_config.json', 'utf8'));
 * peft.r; // 8
 */
export function parsePeftConfig(text: string, file = 'adapter_config.json'): PeftLoraConfig {
  // JSON.parse keeps the last of two equal keys; PEFT would too, but silently: parseJson says so.
  const json = parseJson(text, file, ConfigError);
  const r = PeftLoraConfigSchema.safeParse(json);
  if (!r.success)
    throw new ConfigError(`${file}: not a PEFT LoRA adapter config:\n${z.prettifyError(r.error)}`);
  return r.data;
}

/** Python `re` syntax that JavaScript spells differently: named groups and back-references. */
function pythonRegex(src: string, what: string, file: string): RegExp {
  const js = src.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(js);
  } catch (e) {
    throw new ConfigError(
      `${file}: ${what} ${JSON.stringify(src)} is not a regex JavaScript can run (${(e as Error).message})`,
    );
  }
}

function patternsOf(v: string | string[], what: string, file: string): TargetPattern | TargetPattern[] {
  // PEFT: a string is a regex matched against the whole module path (re.fullmatch); a list holds
  // names matched exactly or as a dotted suffix, which is what a plain string means here.
  if (typeof v === 'string')
    return v === 'all-linear' && what === 'target_modules' ? 'all-linear' : pythonRegex(v, what, file);
  return v;
}

/**
 * Turns a PEFT config into this package's {@link LoraConfig}.
 *
 * Supported: r, lora_alpha, lora_dropout, use_rslora, target_modules (list, regex string, or
 * "all-linear"), exclude_modules, modules_to_save. Every other feature (DoRA, bias training,
 * rank/alpha patterns, layers_to_transform, fan_in_fan_out, ...) is reported, all at once.
 *
 * @throws ConfigError listing every unsupported field
 * @example
 * const cfg = fromPeftConfig(parsePeftConfig(text));
 * cfg.targetModules; // ['q_proj', 'v_proj'], or a RegExp for a string target_modules
 */
export function fromPeftConfig(
  peft: PeftLoraConfig,
  opts: { file?: string; seed?: number } = {},
): LoraConfig {
  const file = opts.file ?? 'adapter_config.json';
  const unsupported: string[] = [];
  if (peft.target_modules == null)
    unsupported.push('target_modules is null (PEFT then picks defaults by model type); name the modules');
  if (peft.bias !== 'none') unsupported.push(`bias "${peft.bias}" (only "none")`);
  if (peft.fan_in_fan_out) unsupported.push('fan_in_fan_out true (GPT-2 Conv1D weights)');
  if (peft.use_dora) unsupported.push('use_dora true (DoRA)');
  if (peft.lora_bias) unsupported.push('lora_bias true');
  if (peft.use_qalora) unsupported.push('use_qalora true');
  if (peft.rank_pattern && Object.keys(peft.rank_pattern).length)
    unsupported.push('a non-empty rank_pattern');
  if (peft.alpha_pattern && Object.keys(peft.alpha_pattern).length)
    unsupported.push('a non-empty alpha_pattern');
  if (peft.layers_to_transform != null) unsupported.push('layers_to_transform');
  if (peft.layer_replication != null) unsupported.push('layer_replication');
  if (peft.trainable_token_indices != null) unsupported.push('trainable_token_indices');
  if (peft.target_parameters != null) unsupported.push('target_parameters');
  if (peft.megatron_config != null) unsupported.push('megatron_config');
  if (unsupported.length)
    throw new ConfigError(`${file}: unsupported PEFT LoRA features: ${unsupported.join('; ')}`);
  const exclude =
    peft.exclude_modules == null ? [] : patternsOf(peft.exclude_modules, 'exclude_modules', file);
  return parseLoraConfig({
    r: peft.r,
    alpha: peft.lora_alpha,
    dropout: peft.lora_dropout,
    useRslora: peft.use_rslora,
    targetModules: patternsOf(peft.target_modules!, 'target_modules', file),
    excludeModules: Array.isArray(exclude) ? exclude : [exclude],
    modulesToSave: peft.modules_to_save ?? [],
    seed: opts.seed ?? 0,
  });
}

function peftTargetModules(config: LoraConfig, targetPaths: readonly string[]): string | string[] {
  const t = config.targetModules;
  const noExcludes = config.excludeModules.length === 0;
  if (t === 'all-linear') return noExcludes ? 'all-linear' : [...targetPaths];
  const list = Array.isArray(t) ? (t as readonly TargetPattern[]) : [t as TargetPattern];
  // PEFT reads a list of plain names exactly as we do; anything else is written as the adapted paths.
  if (noExcludes && list.every(isPlainName)) return [...(list as string[])].sort();
  return [...targetPaths];
}

/** Where an adapter came from and what it is for, written into `adapter_config.json`. */
export interface PeftConfigInfo {
  /** Hugging Face id or path of the base model (`base_model_name_or_path`); default null. */
  baseModelNameOrPath?: string | null;
  /** Base model revision (commit) if known; default null. */
  revision?: string | null;
  /**
   * PEFT task type: `CAUSAL_LM` makes `PeftModel.from_pretrained` build a `PeftModelForCausalLM`.
   * Default null (a plain `PeftModel`), since this package does not know what the model is for.
   */
  taskType?: string | null;
}

/**
 * Builds the `adapter_config.json` object PEFT writes for a LoRA adapter (PEFT 0.15's field set,
 * with `inference_mode` true as `save_pretrained` sets it).
 *
 * `target_modules`: a list of names when the config used only plain names (PEFT reads them the same
 * way); otherwise, since PEFT knows neither globs nor JavaScript regexes, the list of module paths
 * that were actually adapted (exact matches for PEFT), with exclusions already applied.
 *
 * @param targetPaths the adapted module paths (`lora.layers.keys()`)
 * @example
 * const json = stringifyPeftConfig(toPeftConfig(lora.config, [...lora.layers.keys()], { taskType: 'CAUSAL_LM' }));
 */
export function toPeftConfig(
  config: LoraConfig,
  targetPaths: readonly string[],
  info: PeftConfigInfo = {},
): Record<string, unknown> {
  const targetModules = peftTargetModules(config, targetPaths);
  const modulesToSave = config.modulesToSave.length
    ? config.modulesToSave.map((p) => {
        if (!isPlainName(p))
          throw new ConfigError(
            `modulesToSave ${String(p)}: PEFT's modules_to_save holds plain module names only; save with names, not globs or regexes`,
          );
        return p;
      })
    : null;
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: info.baseModelNameOrPath ?? null,
    bias: 'none',
    corda_config: null,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: config.alpha,
    lora_bias: false,
    lora_dropout: config.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: modulesToSave,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: info.revision ?? null,
    target_modules: targetModules,
    task_type: info.taskType ?? null,
    trainable_token_indices: null,
    use_dora: false,
    use_rslora: config.useRslora,
  };
}

/**
 * Serialises like PEFT's `save_pretrained` (`json.dumps(d, indent=2, sort_keys=True)`): keys sorted
 * at every level, two-space indent. Python prints floats such as `0.05` the same way JavaScript does;
 * a whole-number `lora_dropout` gets Python's `.0`.
 *
 * @example
 * await writeFile('adapter_config.json', stringifyPeftConfig(toPeftConfig(lora.config, [...lora.layers.keys()])));
 */
export function stringifyPeftConfig(config: Record<string, unknown>): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  // lora_dropout is a Python float: 0 is written `0.0` there.
  return JSON.stringify(sort(config), null, 2).replace(/^( {2}"lora_dropout": -?\d+)(,?)$/m, '$1.0$2');
}
