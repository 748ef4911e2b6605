import { ConfigError, type Module, openSafetensors, type tf } from '@mmesid/tensor';
import { loraScaling } from '../config.js';
import type { LoraModel } from '../lora-model.js';
import { resolveTargets } from '../targets.js';
import { fromPeftConfig, parsePeftConfig } from './adapter-config.js';
import { assignAdapterTensors, installAdapter } from './install.js';
import { toPeftKey } from './keys.js';
import { type AdapterTensorInfo, expectedAdapterTensors, matchAdapterTensors } from './match-tensors.js';

/** Options of {@link loadAdapter}. */
export interface LoadAdapterOptions {
  /**
   * Keep the loaded adapters (and `modules_to_save`) trainable, to continue training; PEFT's
   * `is_trainable`. Default false: everything is frozen, for inference.
   */
  trainable?: boolean;
  /** Seeds the dropout masks if you train further (the weights come from the file). Default 0. */
  seed?: number;
}

/** Name of the config file in a PEFT adapter directory. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
/** Name of the weights file in a PEFT adapter directory (PEFT's `SAFETENSORS_WEIGHTS_NAME`). */
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

async function readAdapterDir(dir: string) {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  const weightsPath = path.join(dir, ADAPTER_WEIGHTS_FILE);
  let text: string;
  try {
    text = await fs.readFile(configPath, 'utf8');
  } catch (e) {
    throw new ConfigError(`${configPath}: cannot read the adapter config (${(e as Error).message})`);
  }
  const peft = parsePeftConfig(text, configPath);
  try {
    await fs.access(weightsPath);
  } catch {
    const bin = path.join(dir, 'adapter_model.bin');
    const hasBin = await fs.access(bin).then(
      () => true,
      () => false,
    );
    throw new ConfigError(
      hasBin
        ? `${dir}: only adapter_model.bin (a PyTorch pickle) is there; re-save it with safe_serialization=True to get ${ADAPTER_WEIGHTS_FILE}`
        : `${weightsPath}: no such file`,
    );
  }
  return { configPath, weightsPath, peft };
}

async function readMatched(weightsPath: string, expected: Map<string, number[]>, problems: string[]) {
  const file = await openSafetensors(weightsPath);
  const values = new Map<string, tf.Tensor>();
  try {
    const infos = new Map<string, AdapterTensorInfo>();
    for (const k of file.keys()) infos.set(k, file.info(k));
    const pairs = matchAdapterTensors(weightsPath, expected, infos, problems);
    for (const [key, fileKey] of pairs) values.set(key, await file.readTensor(fileKey, { dtype: 'float32' }));
    return values;
  } catch (e) {
    for (const t of values.values()) t.dispose();
    throw e;
  } finally {
    await file.close();
  }
}

/**
 * Loads a PEFT LoRA adapter directory (`adapter_config.json` + `adapter_model.safetensors`, as
 * written by PEFT's `save_pretrained` or {@link saveAdapter}) onto a plain model: applies LoRA as
 * the config says, then fills `lora_A`/`lora_B` (and `modules_to_save`) from the file. Like PEFT's
 * `PeftModel.from_pretrained(model, dir)`. Node only. F16/BF16 tensors are converted to float32.
 *
 * Everything is checked before the model is touched: on any mismatch the model is unchanged.
 *
 * Gotcha: `modules_to_save` tensors overwrite those modules' weights in place (no copy is kept).
 *
 * @throws ConfigError for an unreadable or unsupported `adapter_config.json` (all unsupported
 *   features listed) or a missing weights file
 * @throws AdapterMismatchError listing every target pattern that matches nothing, every missing,
 *   unexpected or mis-shaped tensor
 * @example
 * const model = await LlamaForCausalLM.fromPretrained('/models/llama3-8b-instruct');
 * const lora = await loadAdapter(model, './runs/beauty/adapter');
 * lora.merge(); // inference at base speed
 */
export async function loadAdapter<M extends Module>(
  model: M,
  dir: string,
  opts: LoadAdapterOptions = {},
): Promise<LoraModel<M>> {
  const { configPath, weightsPath, peft } = await readAdapterDir(dir);
  const config = fromPeftConfig(peft, { file: configPath, seed: opts.seed ?? 0 });
  const { expected, problems } = expectedAdapterTensors(model, config);
  const values = await readMatched(weightsPath, expected, problems);
  try {
    return installAdapter(model, config, values, opts.trainable ?? false);
  } finally {
    for (const t of values.values()) t.dispose();
  }
}

/**
 * Replaces the adapter weights of a model that already has LoRA (e.g. to resume training from a
 * checkpoint, or to switch between adapters trained with the same config). The file's config must
 * give the same r, scaling and adapted modules. Trainable flags and the merged state are kept.
 *
 * @throws AdapterMismatchError listing config differences and every missing, unexpected or
 *   mis-shaped tensor; nothing is changed then
 * @example
 * const lora = applyLora(model, cfg);
 * await loadAdapterWeights(lora, './runs/beauty/checkpoint-3');
 */
export async function loadAdapterWeights(lora: LoraModel, dir: string): Promise<void> {
  const { configPath, weightsPath, peft } = await readAdapterDir(dir);
  const config = fromPeftConfig(peft, { file: configPath });
  const problems: string[] = [];
  if (config.r !== lora.config.r)
    problems.push(`r is ${config.r} in ${configPath} but ${lora.config.r} in the model`);
  if (loraScaling(config) !== loraScaling(lora.config))
    problems.push(
      `scaling is ${loraScaling(config)} in ${configPath} but ${loraScaling(lora.config)} in the model`,
    );
  const resolved = resolveTargets(lora.model, config);
  problems.push(...resolved.problems);
  const want = new Set(lora.layers.keys());
  const got = new Set(resolved.targets.map(([p]) => p));
  const onlyFile = [...got].filter((p) => !want.has(p));
  const onlyModel = [...want].filter((p) => !got.has(p));
  if (onlyFile.length)
    problems.push(`the adapter targets modules the model has no adapter on: ${onlyFile.join(', ')}`);
  if (onlyModel.length)
    problems.push(`the model has adapters the file's config does not target: ${onlyModel.join(', ')}`);
  const expected = new Map<string, number[]>();
  for (const [key, t] of Object.entries(lora.adapterStateDict()))
    expected.set(key.slice(toPeftKey('').length), [...t.shape]);
  const values = await readMatched(weightsPath, expected, problems);
  try {
    assignAdapterTensors(lora, values);
  } finally {
    for (const t of values.values()) t.dispose();
  }
}
