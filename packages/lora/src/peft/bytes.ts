import {
  type Module,
  rawToTfTensor,
  readSafetensorsBytes,
  serializeSafetensorsAsync,
  type tf,
} from '@mmesid/tensor';
import type { LoraModel } from '../lora-model.js';
import { fromPeftConfig, parsePeftConfig, stringifyPeftConfig, toPeftConfig } from './adapter-config.js';
import { installAdapter } from './install.js';
import type { LoadAdapterOptions } from './load.js';
import { type AdapterTensorInfo, expectedAdapterTensors, matchAdapterTensors } from './match-tensors.js';
import type { SaveAdapterOptions } from './save.js';

/** The two files of a PEFT adapter, in memory. */
export interface AdapterFiles {
  /** Text of `adapter_config.json`. */
  config: string;
  /** Bytes of `adapter_model.safetensors`. */
  weights: Uint8Array;
}

/**
 * {@link saveAdapter} without a file system (browsers, uploads): the same two files, byte for byte,
 * returned in memory. Tensors are downloaded with `await data()`, so WebGPU is not blocked.
 *
 * @example
 * const { config, weights } = await serializeAdapter(lora, { taskType: 'CAUSAL_LM' });
 */
export async function serializeAdapter(
  lora: LoraModel,
  opts: SaveAdapterOptions = {},
): Promise<AdapterFiles> {
  const config = stringifyPeftConfig(toPeftConfig(lora.config, [...lora.layers.keys()], opts));
  const weights = await serializeSafetensorsAsync(
    lora.adapterStateDict(),
    { format: 'pt' },
    { floatDtype: opts.floatDtype ?? 'F32' },
  );
  return { config, weights };
}

/**
 * {@link loadAdapter} without a file system: the two files' contents (e.g. from `fetch`). Same
 * checks, same errors, model unchanged on failure.
 *
 * @example
 * const [config, weights] = await Promise.all([
 *   fetch(`${url}/adapter_config.json`).then((r) => r.text()),
 *   fetch(`${url}/adapter_model.safetensors`).then((r) => r.arrayBuffer()),
 * ]);
 * const lora = loadAdapterFromFiles(model, { config, weights: new Uint8Array(weights) });
 */
export function loadAdapterFromFiles<M extends Module>(
  model: M,
  files: AdapterFiles,
  opts: LoadAdapterOptions & { source?: string } = {},
): LoraModel<M> {
  const source = opts.source ?? 'adapter';
  const config = fromPeftConfig(parsePeftConfig(files.config, `${source}/adapter_config.json`), {
    file: `${source}/adapter_config.json`,
    seed: opts.seed ?? 0,
  });
  const weightsName = `${source}/adapter_model.safetensors`;
  const { tensors } = readSafetensorsBytes(files.weights, { file: weightsName });
  const { expected, problems } = expectedAdapterTensors(model, config);
  const infos = new Map<string, AdapterTensorInfo>(
    [...tensors].map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]),
  );
  const pairs = matchAdapterTensors(weightsName, expected, infos, problems);
  const values = new Map<string, tf.Tensor>();
  try {
    for (const [key, fileKey] of pairs)
      values.set(
        key,
        rawToTfTensor(tensors.get(fileKey)!, { file: weightsName, name: fileKey, dtype: 'float32' }),
      );
    return installAdapter(model, config, values, opts.trainable ?? false);
  } finally {
    for (const t of values.values()) t.dispose();
  }
}
