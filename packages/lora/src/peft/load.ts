import {
  ConfigError,
  isLocalDirSource,
  type ModelSource,
  type ModelSourceOptions,
  type Module,
  modelFiles,
  openSafetensors,
  rawToTfTensor,
  readSafetensorsBytes,
  type SafetensorsReadOptions,
  type SafetensorsTensorInfo,
  type tf,
} from '@mmesid/tensor';
import { loraScaling } from '../config.js';
import type { LoraModel } from '../lora-model.js';
import { resolveTargets } from '../targets.js';
import { fromPeftConfig, parsePeftConfig } from './adapter-config.js';
import { assignAdapterTensors, installAdapter } from './install.js';
import { toPeftKey } from './keys.js';
import { type AdapterTensorInfo, expectedAdapterTensors, matchAdapterTensors } from './match-tensors.js';

/** Options of {@link loadAdapter}. */
export interface LoadAdapterOptions extends ModelSourceOptions {
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

/** The adapter's weights file, opened for reading tensor by tensor. */
interface WeightsReader {
  keys(): string[];
  info(name: string): SafetensorsTensorInfo;
  readTensor(name: string, options?: SafetensorsReadOptions): Promise<tf.Tensor>;
  close(): Promise<void>;
}

/** An adapter folder: its config, and its weights read from disk (Node) or held in memory. */
async function readAdapter(source: ModelSource, opts: ModelSourceOptions) {
  if (isLocalDirSource(source)) {
    const r = await readAdapterDir(source);
    return { ...r, open: (): Promise<WeightsReader> => openSafetensors(r.weightsPath) };
  }
  const files = modelFiles(source, opts);
  const configPath = files.where(ADAPTER_CONFIG_FILE);
  const weightsPath = files.where(ADAPTER_WEIGHTS_FILE);
  const text = await files.tryText(ADAPTER_CONFIG_FILE);
  if (text === undefined) throw new ConfigError(`${configPath}: cannot read the adapter config (not found)`);
  const peft = parsePeftConfig(text, configPath);
  const bytes = await files.tryBytes(ADAPTER_WEIGHTS_FILE);
  if (!bytes) {
    const hasBin = (await files.tryBytes('adapter_model.bin')) !== undefined;
    throw new ConfigError(
      hasBin
        ? `${files.label}: only adapter_model.bin (a PyTorch pickle) is there; re-save it with safe_serialization=True to get ${ADAPTER_WEIGHTS_FILE}`
        : `${weightsPath}: not found`,
    );
  }
  const open = async (): Promise<WeightsReader> => {
    const c = readSafetensorsBytes(bytes, { file: weightsPath });
    return {
      keys: () => [...c.tensors.keys()],
      info: (name) => c.header.tensors.get(name)!,
      readTensor: async (name, options) =>
        rawToTfTensor(c.tensors.get(name)!, { name, file: weightsPath, ...options }),
      close: async () => {},
    };
  };
  return { configPath, weightsPath, peft, open };
}

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

async function readMatched(
  file: WeightsReader,
  weightsPath: string,
  expected: Map<string, number[]>,
  problems: string[],
) {
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
 * `PeftModel.from_pretrained(model, dir)`. F16/BF16 tensors are converted to float32. `dir` is a
 * local directory (Node), a base URL (fetched; `onProgress`, Cache API) or the two files as
 * `File`/`Blob` objects by name.
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
  dir: ModelSource,
  opts: LoadAdapterOptions = {},
): Promise<LoraModel<M>> {
  const { configPath, weightsPath, peft, open } = await readAdapter(dir, opts);
  const config = fromPeftConfig(peft, { file: configPath, seed: opts.seed ?? 0 });
  const { expected, problems } = expectedAdapterTensors(model, config);
  const values = await readMatched(await open(), weightsPath, expected, problems);
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
export async function loadAdapterWeights(
  lora: LoraModel,
  dir: ModelSource,
  opts: ModelSourceOptions = {},
): Promise<void> {
  const { configPath, weightsPath, peft, open } = await readAdapter(dir, opts);
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
  const values = await readMatched(await open(), weightsPath, expected, problems);
  try {
    assignAdapterTensors(lora, values);
  } finally {
    for (const t of values.values()) t.dispose();
  }
}
