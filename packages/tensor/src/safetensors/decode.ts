/**
 * Turning a tensor's raw little-endian bytes into the typed array tfjs wants. Pure and browser-safe;
 * no tfjs import, so it also serves code that only needs numbers.
 */
import { SafetensorsError } from '../errors.js';
import {
  assertLittleEndianHost,
  bf16ToF32,
  f16ToF32,
  SAFETENSORS_DTYPE_SIZE,
  type SafetensorsDtype,
} from './dtypes.js';

/** The tfjs dtypes a safetensors tensor can be read as. */
export type SafetensorsTfDtype = 'float32' | 'int32' | 'bool';

/** One tensor as stored: its safetensors dtype, shape and raw little-endian bytes. */
export interface SafetensorsRawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Exactly `product(shape) * SAFETENSORS_DTYPE_SIZE[dtype]` bytes, little-endian, row-major. */
  data: Uint8Array;
}

/** A tensor decoded to tfjs's representation, ready for `tf.tensor(values, shape, dtype)`. */
export interface SafetensorsDecodedTensor {
  dtype: SafetensorsTfDtype;
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
}

/** Options of {@link decodeSafetensor}. */
export interface SafetensorsDecodeOptions {
  /** Target tfjs dtype; defaults to float32 for float dtypes, int32 for integers, bool for BOOL. */
  dtype?: SafetensorsTfDtype;
  /** File name for error messages. */
  file?: string;
  /** Tensor name for error messages. */
  name?: string;
  /**
   * Let the result share memory with `raw.data` when no conversion is needed (F32 to float32, I32 to
   * int32). Only set it when `raw.data` is yours to give away, e.g. a buffer you just read from disk:
   * otherwise a later write to one would show in the other.
   */
  reuseBuffer?: boolean;
}

const FLOAT_DTYPES = new Set<SafetensorsDtype>(['F16', 'BF16', 'F32', 'F64']);

/**
 * The tfjs dtype a safetensors dtype decodes to when none is requested: float32 for F16/BF16/F32/F64,
 * bool for BOOL, int32 for every integer type (I64/U64/U32 throw on values outside int32).
 *
 * @example
 * defaultTfDtype('BF16'); // 'float32'
 * defaultTfDtype('I64'); // 'int32'
 */
export function defaultTfDtype(dtype: SafetensorsDtype): SafetensorsTfDtype {
  if (dtype === 'BOOL') return 'bool';
  return FLOAT_DTYPES.has(dtype) || dtype.startsWith('F8') ? 'float32' : 'int32';
}

/**
 * Decodes one tensor's bytes to a tfjs-ready typed array.
 *
 * Conversions: float types to float32 (F16/BF16 exactly; F64 rounded, throwing on finite values beyond
 * the float32 range); integer types and BOOL to int32 (I64/U64/U32 throw, naming the tensor and the
 * value, when a value does not fit) or to float32 on request; integer types and BOOL to bool (nonzero is
 * true). Float types cannot be read as int32 or bool: cast after loading if truncation is meant.
 *
 * Gotcha: without `reuseBuffer` the result never shares memory with `raw.data`.
 *
 * @throws SafetensorsError naming the file and tensor on an unsupported conversion or an
 *   out-of-range value
 * @example
 * const { values, shape, dtype } = decodeSafetensor(raw, { name: 'lm_head.weight' });
 */
export function decodeSafetensor(
  raw: SafetensorsRawTensor,
  options: SafetensorsDecodeOptions = {},
): SafetensorsDecodedTensor {
  assertLittleEndianHost();
  const file = options.file ?? '<bytes>';
  const name = options.name;
  const target = options.dtype ?? defaultTfDtype(raw.dtype);
  const numel = raw.shape.reduce((a, d) => a * d, 1);
  const size = SAFETENSORS_DTYPE_SIZE[raw.dtype];
  if (raw.data.byteLength !== numel * size) {
    throw new SafetensorsError(
      file,
      `holds ${raw.data.byteLength} bytes but ${raw.dtype} [${raw.shape}] needs ${numel * size}`,
      name,
    );
  }
  const fail = (msg: string): never => {
    throw new SafetensorsError(file, msg, name);
  };
  if (raw.dtype === 'F8_E4M3' || raw.dtype === 'F8_E5M2') {
    fail(`decoding ${raw.dtype} is not supported; read its raw bytes instead`);
  }
  const isFloat = FLOAT_DTYPES.has(raw.dtype);
  if (isFloat && target !== 'float32') {
    fail(`cannot read ${raw.dtype} as ${target} without truncating; read as float32 and cast`);
  }

  // Typed arrays need their byte offset to be a multiple of the element size; a header from another
  // writer, or a caller's subarray, may not give us that, so copy in that case. The F32 and I32/U32 to
  // int32 paths return a view of the bytes, so they also copy unless the caller allowed sharing; every
  // other path writes a fresh array and can read the caller's bytes in place.
  const aligned = raw.data.byteOffset % size === 0;
  const returnsView =
    raw.dtype === 'F32' || ((raw.dtype === 'I32' || raw.dtype === 'U32') && target === 'int32');
  // `new Uint8Array(view)` copies, unlike `slice()` on a Node Buffer, which returns a view.
  const owned = aligned && (options.reuseBuffer || !returnsView) ? raw.data : new Uint8Array(raw.data);
  const buf = owned.buffer;
  const off = owned.byteOffset;
  const shape = [...raw.shape];

  switch (raw.dtype) {
    case 'F32': {
      const v = new Float32Array(buf, off, numel);
      return { dtype: 'float32', shape, values: v };
    }
    case 'F16':
      return { dtype: 'float32', shape, values: f16ToF32(new Uint16Array(buf, off, numel)) };
    case 'BF16':
      return { dtype: 'float32', shape, values: bf16ToF32(new Uint16Array(buf, off, numel)) };
    case 'F64': {
      const src = new Float64Array(buf, off, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) {
        const x = src[i]!;
        const f = Math.fround(x);
        if (f === Infinity || f === -Infinity) {
          if (Number.isFinite(x)) fail(`F64 value ${x} at flat index ${i} is outside the float32 range`);
        }
        out[i] = f;
      }
      return { dtype: 'float32', shape, values: out };
    }
    default:
      return decodeInteger(raw.dtype, buf, off, numel, shape, target, fail);
  }
}

function decodeInteger(
  dtype: SafetensorsDtype,
  buf: ArrayBufferLike,
  off: number,
  numel: number,
  shape: number[],
  target: SafetensorsTfDtype,
  fail: (msg: string) => never,
): SafetensorsDecodedTensor {
  if (dtype === 'I64' || dtype === 'U64') {
    // Each element as (lo, hi) int32 words: it fits int32 exactly when hi is lo's sign extension
    // (I64), or when hi is 0 and lo is non-negative (U64). This avoids a BigInt per element.
    const w = new Int32Array(buf, off, numel * 2);
    if (target === 'float32') {
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) {
        const lo = w[2 * i]! >>> 0;
        const hi = dtype === 'I64' ? w[2 * i + 1]! : w[2 * i + 1]! >>> 0;
        out[i] = hi * 4294967296 + lo;
      }
      return { dtype: 'float32', shape, values: out };
    }
    const out = target === 'bool' ? new Uint8Array(numel) : new Int32Array(numel);
    for (let i = 0; i < numel; i++) {
      const lo = w[2 * i]!;
      const hi = w[2 * i + 1]!;
      if (target === 'bool') {
        out[i] = lo !== 0 || hi !== 0 ? 1 : 0;
        continue;
      }
      const fits = dtype === 'I64' ? hi === lo >> 31 : hi === 0 && lo >= 0;
      if (!fits) {
        const big =
          dtype === 'I64'
            ? new BigInt64Array(buf, off + i * 8, 1)[0]!
            : new BigUint64Array(buf, off + i * 8, 1)[0]!;
        fail(
          `${dtype} value ${big} at flat index ${i} does not fit int32; read it as float32 or keep the raw bytes`,
        );
      }
      out[i] = lo;
    }
    return { dtype: target, shape, values: out };
  }

  let src: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
  switch (dtype) {
    case 'BOOL':
    case 'U8':
      src = new Uint8Array(buf, off, numel);
      break;
    case 'I8':
      src = new Int8Array(buf, off, numel);
      break;
    case 'I16':
      src = new Int16Array(buf, off, numel);
      break;
    case 'U16':
      src = new Uint16Array(buf, off, numel);
      break;
    case 'I32':
      src = new Int32Array(buf, off, numel);
      break;
    case 'U32':
      src = new Uint32Array(buf, off, numel);
      break;
    default:
      return fail(`decoding ${dtype} is not supported`);
  }
  if (target === 'float32') return { dtype: 'float32', shape, values: Float32Array.from(src) };
  if (target === 'bool') {
    const out = new Uint8Array(numel);
    for (let i = 0; i < numel; i++) out[i] = src[i] !== 0 ? 1 : 0;
    return { dtype: 'bool', shape, values: out };
  }
  if (src instanceof Int32Array) return { dtype: 'int32', shape, values: src };
  if (src instanceof Uint32Array) {
    for (let i = 0; i < numel; i++) {
      if (src[i]! > 0x7fffffff)
        fail(`U32 value ${src[i]} at flat index ${i} does not fit int32; read it as float32`);
    }
    return { dtype: 'int32', shape, values: new Int32Array(buf, off, numel) };
  }
  return { dtype: 'int32', shape, values: Int32Array.from(src) };
}
