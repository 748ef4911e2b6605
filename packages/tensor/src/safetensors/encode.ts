/**
 * Turning numbers into a tensor's little-endian bytes in a chosen safetensors dtype. Pure and
 * browser-safe. Integer targets never clamp or truncate: a value that does not fit throws.
 */
import { SafetensorsError } from '../errors.js';
import {
  assertLittleEndianHost,
  f32ToBf16,
  f32ToF16,
  SAFETENSORS_DTYPE_SIZE,
  type SafetensorsDtype,
} from './dtypes.js';

/** Plain numeric element containers accepted as tensor values. */
export type SafetensorsValues =
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | BigInt64Array
  | BigUint64Array
  | readonly number[];

/** The safetensors float dtypes a float source can be written as. */
export type SafetensorsFloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/**
 * The dtype a value container is written as when no dtype is given: its own type for typed integer
 * arrays (Uint8Array as U8, BigInt64Array as I64, ...), `floatDtype` (F32 unless told) for
 * Float32Array, Float64Array and plain number arrays.
 */
export function defaultDtypeOfValues(
  values: SafetensorsValues,
  floatDtype: SafetensorsFloatDtype = 'F32',
): SafetensorsDtype {
  if (values instanceof Int32Array) return 'I32';
  if (values instanceof Uint8Array) return 'U8';
  if (values instanceof Int8Array) return 'I8';
  if (values instanceof Int16Array) return 'I16';
  if (values instanceof Uint16Array) return 'U16';
  if (values instanceof Uint32Array) return 'U32';
  if (values instanceof BigInt64Array) return 'I64';
  if (values instanceof BigUint64Array) return 'U64';
  return floatDtype;
}

const INT_RANGE: Partial<Record<SafetensorsDtype, [number, number]>> = {
  BOOL: [0, 1],
  U8: [0, 255],
  I8: [-128, 127],
  I16: [-32768, 32767],
  U16: [0, 65535],
  I32: [-2147483648, 2147483647],
  U32: [0, 4294967295],
  I64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  U64: [0, Number.MAX_SAFE_INTEGER],
};

const BIG_RANGE: Partial<Record<SafetensorsDtype, [bigint, bigint]>> = {
  I64: [-(2n ** 63n), 2n ** 63n - 1n],
  U64: [0n, 2n ** 64n - 1n],
};

type IntArrayCtor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor;

const SMALL_INT_ARRAY: Partial<Record<SafetensorsDtype, IntArrayCtor>> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  I16: Int16Array,
  U16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
};

function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toFloat32(values: SafetensorsValues): Float32Array {
  if (values instanceof Float32Array) return values;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!);
  return out;
}

/**
 * Encodes values as the little-endian bytes of `dtype`.
 *
 * Floats: F32 and F64 convert as JavaScript does; F16 and BF16 round to nearest even (see `f32ToF16`,
 * `f32ToBf16`). Integers: every value must be an integer inside the dtype's range (BOOL: 0 or 1),
 * otherwise this throws naming the tensor, the value and its index; nothing is clamped or truncated.
 *
 * Gotcha: when no conversion is needed (a Float32Array to F32, an Int32Array to I32, ...) the result is
 * a view of `values`' own memory, not a copy.
 *
 * @param ctx file and tensor name for error messages
 * @example
 * encodeSafetensorValues(new Float32Array([1, 2]), 'BF16', { file: 'x.safetensors', name: 'w' }); // 4 bytes
 */
export function encodeSafetensorValues(
  values: SafetensorsValues,
  dtype: SafetensorsDtype,
  ctx: { file: string; name: string },
): Uint8Array {
  assertLittleEndianHost();
  const fail = (msg: string): never => {
    throw new SafetensorsError(ctx.file, msg, ctx.name);
  };
  const n = values.length;
  switch (dtype) {
    case 'F32':
      return asBytes(toFloat32(values));
    case 'F16':
      return asBytes(f32ToF16(toFloat32(values)));
    case 'BF16':
      return asBytes(f32ToBf16(toFloat32(values)));
    case 'F64': {
      if (values instanceof Float64Array) return asBytes(values);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(values[i]!);
      return asBytes(out);
    }
    case 'F8_E4M3':
    case 'F8_E5M2':
      return fail(`writing ${dtype} is not supported`);
  }

  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    return encodeBigInts(values, dtype, fail);
  }
  const [lo, hi] = INT_RANGE[dtype]!;
  const check = (v: number, i: number): void => {
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
      const what = dtype === 'BOOL' ? 'not 0 or 1' : `not an integer in the ${dtype} range [${lo}, ${hi}]`;
      fail(`value ${v} at flat index ${i} is ${what}`);
    }
  };
  // A typed source whose whole range fits the target needs no per-element check.
  const Ctor = SMALL_INT_ARRAY[dtype];
  if (Ctor && values instanceof Ctor && dtype !== 'BOOL') return asBytes(values);
  if (Ctor) {
    const out = new Ctor(n);
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      check(v, i);
      out[i] = v;
    }
    return asBytes(out);
  }
  // I64 / U64 from ordinary numbers: write each value as (lo, hi) 32-bit words; safe integers only, so
  // the split is exact.
  const words = new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    check(v, i);
    const high = Math.floor(v / 4294967296);
    words[2 * i] = v - high * 4294967296;
    words[2 * i + 1] = high >>> 0;
  }
  return asBytes(words);
}

function encodeBigInts(
  values: BigInt64Array | BigUint64Array,
  dtype: SafetensorsDtype,
  fail: (msg: string) => never,
): Uint8Array {
  const n = values.length;
  if (dtype === 'I64' && values instanceof BigInt64Array) return asBytes(values);
  if (dtype === 'U64' && values instanceof BigUint64Array) return asBytes(values);
  const small = INT_RANGE[dtype];
  const big = BIG_RANGE[dtype];
  const [lo, hi]: [bigint, bigint] = big ?? [BigInt(small![0]), BigInt(small![1])];
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < lo || v > hi) fail(`value ${v} at flat index ${i} is outside the ${dtype} range [${lo}, ${hi}]`);
  }
  if (dtype === 'I64') return asBytes(BigInt64Array.from(values));
  if (dtype === 'U64') return asBytes(BigUint64Array.from(values));
  const Ctor = SMALL_INT_ARRAY[dtype]!;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) out[i] = Number(values[i]!);
  return asBytes(out);
}

/** Bytes `dtype` needs for `shape`. */
export function byteLengthOf(dtype: SafetensorsDtype, shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1) * SAFETENSORS_DTYPE_SIZE[dtype];
}
