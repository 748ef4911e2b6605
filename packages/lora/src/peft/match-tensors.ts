import type { Module } from '@mmesid/tensor';
import type { LoraConfig } from '../config.js';
import { AdapterMismatchError, type AdapterShapeMismatch } from '../errors.js';
import { resolveTargets } from '../targets.js';
import { fromPeftKey, toPeftKey } from './keys.js';

/** Shape and dtype of a tensor in an adapter file (safetensors dtype names, or tfjs ones). */
export interface AdapterTensorInfo {
  shape: readonly number[];
  dtype: string;
}

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16', 'float32']);

/**
 * The tensors (model-relative key -> shape) that an adapter with `config` must provide for `model`,
 * plus config-level problems (patterns that match nothing, non-Linear targets). Does not change the
 * model.
 */
export function expectedAdapterTensors(
  model: Module,
  config: LoraConfig,
): { expected: Map<string, number[]>; problems: string[] } {
  const { targets, saved, problems } = resolveTargets(model, config);
  const expected = new Map<string, number[]>();
  for (const [path, m] of targets) {
    expected.set(`${path}.lora_A.weight`, [config.r, m.inFeatures]);
    expected.set(`${path}.lora_B.weight`, [m.outFeatures, config.r]);
  }
  for (const [path, m] of saved)
    for (const [name, p] of m.namedParameters(path)) expected.set(name, [...p.shape]);
  return { expected, problems };
}

/**
 * Pairs the tensors of an adapter file with what the model expects. Returns model key -> file key.
 *
 * @throws AdapterMismatchError listing every problem, missing, unexpected and mis-shaped tensor
 */
export function matchAdapterTensors(
  source: string,
  expected: ReadonlyMap<string, readonly number[]>,
  file: ReadonlyMap<string, AdapterTensorInfo>,
  problems: string[] = [],
): Map<string, string> {
  const pairs = new Map<string, string>();
  const unexpected: string[] = [];
  const mismatched: AdapterShapeMismatch[] = [];
  for (const [fileKey, info] of file) {
    const key = fromPeftKey(fileKey);
    const want = key === null ? undefined : expected.get(key);
    if (key === null || !want) {
      unexpected.push(fileKey);
      continue;
    }
    if (pairs.has(key)) {
      unexpected.push(`${fileKey} (a second tensor for ${toPeftKey(key)})`);
      continue;
    }
    pairs.set(key, fileKey);
    if (!FLOAT_DTYPES.has(info.dtype))
      mismatched.push({ key: fileKey, expected: [...want], got: [...info.shape], dtype: info.dtype });
    else if (want.length !== info.shape.length || want.some((d, i) => d !== info.shape[i]))
      mismatched.push({ key: fileKey, expected: [...want], got: [...info.shape] });
  }
  const missing = [...expected.keys()].filter((k) => !pairs.has(k)).map(toPeftKey);
  if (problems.length || missing.length || unexpected.length || mismatched.length)
    throw new AdapterMismatchError(source, problems, missing, unexpected, mismatched);
  return pairs;
}
