/**
 * Laying out and serialising a safetensors file exactly as the reference (Python/Rust) writer does:
 * tensors sorted by dtype alignment (largest first) then name, a compact JSON header with
 * `__metadata__` first, padded with spaces to a multiple of 8 bytes. Pure and browser-safe apart from
 * reading tfjs tensors.
 */
import { SafetensorsError } from '../errors.js';
import type { Tensor } from '../tf.js';
import type { SafetensorsRawTensor } from './decode.js';
import { dtypeRank, isSafetensorsDtype, type SafetensorsDtype } from './dtypes.js';
import {
  byteLengthOf,
  defaultDtypeOfValues,
  encodeSafetensorValues,
  type SafetensorsFloatDtype,
  type SafetensorsValues,
} from './encode.js';

/** Numbers plus their shape, written as `dtype` (default: see `defaultDtypeOfValues`). */
export interface SafetensorsArrayInput {
  data: SafetensorsValues;
  shape: readonly number[];
  dtype?: SafetensorsDtype;
}

/** A tfjs tensor written as `dtype` instead of its default. */
export interface SafetensorsTfInput {
  tensor: Tensor;
  dtype?: SafetensorsDtype;
}

/** Already-encoded bytes written unchanged (e.g. copying a tensor between files without decoding). */
export interface SafetensorsRawInput {
  raw: SafetensorsRawTensor;
}

/**
 * One tensor to write: a tfjs tensor (float32 as `floatDtype`, int32 as I32, bool as BOOL), a tfjs
 * tensor with an explicit dtype, numbers with a shape, or raw bytes.
 */
export type SafetensorsInput = Tensor | SafetensorsTfInput | SafetensorsArrayInput | SafetensorsRawInput;

/** Named tensors to write: a plain object, a Map, or any iterable of `[name, input]` pairs. */
export type SafetensorsInputs =
  | Readonly<Record<string, SafetensorsInput>>
  | ReadonlyMap<string, SafetensorsInput>
  | Iterable<readonly [string, SafetensorsInput]>;

/** Options shared by every writer. */
export interface SafetensorsSerializeOptions {
  /** Dtype for float sources that do not name one (float32 tensors, Float32Array, number[]); default F32. */
  floatDtype?: SafetensorsFloatDtype;
  /** File name used in error messages. */
  file?: string;
}

/** One tensor placed in the layout. Internal to the writers. */
export interface PlannedTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
  byteLength: number;
  source: SafetensorsInput;
}

/** A complete layout: header bytes (length prefix included) and tensors in write order. Internal. */
export interface SafetensorsPlan {
  /** The 8-byte length followed by the padded JSON header. */
  header: Uint8Array;
  tensors: PlannedTensor[];
  /** Size of the whole file. */
  totalBytes: number;
}

function isTfTensor(x: unknown): x is Tensor {
  // Duck-typed so that tensors from another copy of tfjs-core (a bundling accident) still work.
  const t = x as { dataSync?: unknown; data?: unknown; shape?: unknown; dtype?: unknown } | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.dataSync === 'function' &&
    typeof t.data === 'function' &&
    Array.isArray(t.shape) &&
    typeof t.dtype === 'string'
  );
}

/** Named inputs as `[name, input]` pairs in the caller's order. Internal. */
export function entriesOf(inputs: SafetensorsInputs): [string, SafetensorsInput][] {
  if (inputs instanceof Map) return [...inputs.entries()];
  if (typeof (inputs as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(inputs as Iterable<readonly [string, SafetensorsInput]>)].map(([k, v]) => [k, v]);
  }
  return Object.entries(inputs as Record<string, SafetensorsInput>);
}

// Rust compares `String`s byte-wise (UTF-8), which is code point order; JavaScript's default order is
// UTF-16 code units, which disagrees for characters above U+FFFF. Only the reference order gives
// byte-identical files.
/** Orders strings by Unicode code point (UTF-8 byte order). Internal. */
export function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return a.length - i - (b.length - j);
}

function describe(
  name: string,
  input: SafetensorsInput,
  floatDtype: SafetensorsFloatDtype,
  file: string,
): { dtype: SafetensorsDtype; shape: number[] } {
  const fail = (msg: string): never => {
    throw new SafetensorsError(file, msg, name);
  };
  let dtype: SafetensorsDtype | undefined;
  let shape: readonly number[];
  let numel: number | undefined;
  const fromTf = (t: Tensor, explicit?: SafetensorsDtype): SafetensorsDtype => {
    if (explicit) return explicit;
    if (t.dtype === 'float32') return floatDtype;
    if (t.dtype === 'int32') return 'I32';
    if (t.dtype === 'bool') return 'BOOL';
    return fail(`cannot write a tfjs ${t.dtype} tensor`);
  };
  if (isTfTensor(input)) {
    dtype = fromTf(input);
    shape = input.shape;
  } else if ('tensor' in input) {
    if (!isTfTensor(input.tensor)) fail('`tensor` is not a tfjs tensor');
    dtype = fromTf(input.tensor, input.dtype);
    shape = input.tensor.shape;
  } else if ('raw' in input) {
    dtype = input.raw.dtype;
    shape = input.raw.shape;
    if (!isSafetensorsDtype(dtype)) fail(`unknown dtype ${JSON.stringify(dtype)}`);
    const need = byteLengthOf(dtype, shape);
    if (input.raw.data.byteLength !== need) {
      fail(`raw data has ${input.raw.data.byteLength} bytes but ${dtype} [${shape}] needs ${need}`);
    }
  } else if ('data' in input) {
    dtype = input.dtype ?? defaultDtypeOfValues(input.data, floatDtype);
    shape = input.shape;
    numel = input.data.length;
  } else {
    return fail('is neither a tfjs tensor, {tensor}, {data, shape} nor {raw}');
  }
  if (!isSafetensorsDtype(dtype)) fail(`unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  const product = shape.reduce((a, d) => a * d, 1);
  if (numel !== undefined && numel !== product)
    fail(`has ${numel} values but shape [${shape}] needs ${product}`);
  return { dtype: dtype as SafetensorsDtype, shape: [...shape] };
}

/**
 * Computes the layout of a safetensors file without touching any tensor data, validating names,
 * shapes, dtypes and metadata. Internal: the in-memory and file writers share it.
 */
export function planSafetensors(
  inputs: SafetensorsInputs,
  metadata: Readonly<Record<string, string>> | undefined,
  options: SafetensorsSerializeOptions = {},
): SafetensorsPlan {
  const file = options.file ?? '<bytes>';
  const floatDtype = options.floatDtype ?? 'F32';
  if (!['F32', 'F16', 'BF16', 'F64'].includes(floatDtype)) {
    throw new SafetensorsError(
      file,
      `floatDtype ${JSON.stringify(floatDtype)} is not one of F32, F16, BF16, F64`,
    );
  }
  const seen = new Set<string>();
  const described: Omit<PlannedTensor, 'dataOffsets'>[] = [];
  for (const [name, input] of entriesOf(inputs)) {
    if (typeof name !== 'string')
      throw new SafetensorsError(file, `tensor name ${String(name)} is not a string`);
    if (name === '__metadata__')
      throw new SafetensorsError(file, 'a tensor cannot be named __metadata__', name);
    if (seen.has(name)) throw new SafetensorsError(file, 'tensor name given twice', name);
    seen.add(name);
    const { dtype, shape } = describe(name, input, floatDtype, file);
    described.push({ name, dtype, shape, byteLength: byteLengthOf(dtype, shape), source: input });
  }
  described.sort((a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareCodePoints(a.name, b.name));

  let offset = 0;
  const tensors: PlannedTensor[] = described.map((t) => {
    const planned = { ...t, dataOffsets: [offset, offset + t.byteLength] as [number, number] };
    offset += t.byteLength;
    return planned;
  });

  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareCodePoints);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') {
        throw new SafetensorsError(
          file,
          `metadata["${k}"] is ${JSON.stringify(metadata[k])}, expected a string`,
        );
      }
    }
    // The reference writer keeps metadata in a hash map (arbitrary order); sorting makes our output
    // deterministic.
    parts.push(
      `"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`,
    );
  }
  for (const t of tensors) {
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${t.dataOffsets[0]},${t.dataOffsets[1]}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Padding to 8 bytes keeps every tensor aligned to its element size, since the layout puts larger
  // element sizes first and each tensor's byte count is a multiple of its element size.
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + padded);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.byteLength);
  return { header, tensors, totalBytes: header.byteLength + offset };
}

function rawToValuesOrBytes(
  t: PlannedTensor,
  file: string,
  readTf: (x: Tensor) => SafetensorsValues,
): Uint8Array {
  const s = t.source;
  let bytes: Uint8Array;
  if (!isTfTensor(s) && 'raw' in s) {
    bytes = s.raw.data;
  } else {
    const values = isTfTensor(s)
      ? readTf(s)
      : 'tensor' in s
        ? readTf(s.tensor)
        : (s as SafetensorsArrayInput).data;
    bytes = encodeSafetensorValues(values, t.dtype, { file, name: t.name });
  }
  if (bytes.byteLength !== t.byteLength) {
    throw new SafetensorsError(file, `encoded ${bytes.byteLength} bytes, expected ${t.byteLength}`, t.name);
  }
  return bytes;
}

/**
 * One planned tensor's bytes, reading tfjs tensors synchronously. Internal. The result may alias the
 * source's memory.
 */
export function plannedTensorBytesSync(t: PlannedTensor, file: string): Uint8Array {
  return rawToValuesOrBytes(t, file, (x) => x.dataSync() as SafetensorsValues);
}

/**
 * One planned tensor's bytes, downloading tfjs tensors asynchronously (GPU friendly). Internal. The
 * result may alias the source's memory.
 */
export async function plannedTensorBytes(t: PlannedTensor, file: string): Promise<Uint8Array> {
  const s = t.source;
  const tensor = isTfTensor(s) ? s : 'tensor' in s ? s.tensor : undefined;
  if (!tensor) return plannedTensorBytesSync(t, file);
  const values = (await tensor.data()) as SafetensorsValues;
  return rawToValuesOrBytes(t, file, () => values);
}

/**
 * Serialises tensors into the bytes of a safetensors file, in the reference writer's exact layout
 * (files written here are byte-identical to Python's `safetensors.numpy.save` for the same tensors and
 * metadata, except that we sort metadata keys).
 *
 * Use it for small files and in browsers; for disk use `saveSafetensors`, which streams tensor by tensor
 * instead of building the whole file in memory.
 *
 * Gotcha: tfjs tensors are read with `dataSync()`, which blocks on GPU backends; there use
 * {@link serializeSafetensorsAsync}. Input tensors are not disposed.
 *
 * @param metadata optional `__metadata__` (string values only); omitted from the header when undefined
 * @param options.floatDtype dtype for float sources without an explicit one (default F32)
 * @throws SafetensorsError naming the tensor on a bad shape, a value that does not fit its integer
 *   dtype, or non-string metadata
 * @example
 * const bytes = serializeSafetensors(
 *   { 'w': tf.ones([2, 3]), 'ids': { data: new Int32Array([1, 2]), shape: [2], dtype: 'I64' } },
 *   { format: 'pt' },
 *   { floatDtype: 'BF16' },
 * );
 */
export function serializeSafetensors(
  tensors: SafetensorsInputs,
  metadata?: Readonly<Record<string, string>>,
  options: SafetensorsSerializeOptions = {},
): Uint8Array {
  const file = options.file ?? '<bytes>';
  const plan = planSafetensors(tensors, metadata, options);
  const out = new Uint8Array(plan.totalBytes);
  out.set(plan.header, 0);
  for (const t of plan.tensors) {
    out.set(plannedTensorBytesSync(t, file), plan.header.byteLength + t.dataOffsets[0]);
  }
  return out;
}

/**
 * {@link serializeSafetensors} that downloads tfjs tensors with `await tensor.data()`, so it does not
 * block a WebGPU/WebGL backend. Same output, same errors.
 *
 * @example
 * const bytes = await serializeSafetensorsAsync(model.stateDict(), { format: 'pt' });
 */
export async function serializeSafetensorsAsync(
  tensors: SafetensorsInputs,
  metadata?: Readonly<Record<string, string>>,
  options: SafetensorsSerializeOptions = {},
): Promise<Uint8Array> {
  const file = options.file ?? '<bytes>';
  const plan = planSafetensors(tensors, metadata, options);
  const out = new Uint8Array(plan.totalBytes);
  out.set(plan.header, 0);
  for (const t of plan.tensors) {
    out.set(await plannedTensorBytes(t, file), plan.header.byteLength + t.dataOffsets[0]);
  }
  return out;
}
