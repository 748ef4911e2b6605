/**
 * Reading a whole safetensors file that is already in memory (a fetch response in a browser, a small
 * file in Node). For files on disk, `openSafetensors` reads tensor by tensor instead.
 */
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import {
  decodeSafetensor,
  type SafetensorsDecodeOptions,
  type SafetensorsRawTensor,
  type SafetensorsTfDtype,
} from './decode.js';
import { parseSafetensorsHeader, type SafetensorsHeader } from './header.js';

/** The parsed contents of an in-memory safetensors file. */
export interface SafetensorsContents {
  header: SafetensorsHeader;
  /** The `__metadata__` string map (`{}` when absent). */
  metadata: Record<string, string>;
  /** Tensors in file order; each `data` is a zero-copy view into the input bytes. */
  tensors: Map<string, SafetensorsRawTensor>;
}

/**
 * Parses an in-memory safetensors file into raw tensors (dtype, shape, little-endian bytes), without
 * copying or converting anything. Validates the whole header first (see `parseSafetensorsHeader`).
 *
 * Gotcha: every `data` is a view into `bytes`; keep `bytes` unchanged while you use them, and decode
 * with `decodeSafetensor` / `rawToTfTensor` (which copy) before reusing the buffer.
 *
 * @param options.file name used in error messages (e.g. the URL it came from)
 * @throws SafetensorsError naming the file and tensor on any malformed input
 * @example
 * const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
 * const { tensors, metadata } = readSafetensorsBytes(bytes, { file: url });
 * const emb = tensors.get('model.embed_tokens.weight'); // { dtype: 'F32', shape: [512, 64], data }
 */
export function readSafetensorsBytes(
  bytes: Uint8Array,
  options: { file?: string } = {},
): SafetensorsContents {
  const file = options.file ?? '<bytes>';
  const header = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, SafetensorsRawTensor>();
  for (const [name, info] of header.tensors) {
    const [begin, end] = info.dataOffsets;
    tensors.set(name, {
      dtype: info.dtype,
      shape: [...info.shape],
      data: bytes.subarray(header.dataStart + begin, header.dataStart + end),
    });
  }
  return { header, metadata: header.metadata, tensors };
}

/**
 * Decodes one raw tensor into a new `tf.Tensor` (see `decodeSafetensor` for the conversions and the errors).
 * The caller owns and disposes the result.
 *
 * @example
 * const w = rawToTfTensor(tensors.get('lm_head.weight')!, { name: 'lm_head.weight' });
 * // ... use w ...
 * w.dispose();
 */
export function rawToTfTensor(raw: SafetensorsRawTensor, options: SafetensorsDecodeOptions = {}): tf.Tensor {
  const { values, shape, dtype } = decodeSafetensor(raw, options);
  return tf.tensor(values, shape, dtype);
}

/**
 * Reads every tensor of an in-memory safetensors file into tfjs tensors, in file order.
 *
 * The caller owns and disposes every returned tensor (e.g. `tf.dispose([...map.values()])`). On an
 * error no tensor is left allocated.
 *
 * @param options.dtype read every tensor as this tfjs dtype instead of its default
 * @example
 * const weights = loadSafetensorsBytes(bytes, { file: 'model.safetensors' });
 * const emb = weights.get('model.embed_tokens.weight')!; // float32 [512, 64]
 */
export function loadSafetensorsBytes(
  bytes: Uint8Array,
  options: { file?: string; dtype?: SafetensorsTfDtype } = {},
): Map<string, tf.Tensor> {
  const file = options.file ?? '<bytes>';
  const { tensors } = readSafetensorsBytes(bytes, { file });
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, raw] of tensors) {
      out.set(name, rawToTfTensor(raw, { file, name, ...(options.dtype ? { dtype: options.dtype } : {}) }));
    }
  } catch (e) {
    tf.dispose([...out.values()]);
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(file, `could not create tensors: ${(e as Error).message}`);
  }
  return out;
}
