/**
 * safetensors element types: their sizes, the order the reference writer lays them out in, and the
 * bit-exact float16 / bfloat16 converters. Pure and browser-safe.
 */

/**
 * Every element type the safetensors format defines that this package recognises in a header.
 *
 * Reading to tfjs works for all of them except the two FP8 types, which are accepted in a header
 * (so a checkpoint that holds one still opens) but cannot be decoded yet. Writing supports every
 * type except FP8.
 */
export type SafetensorsDtype =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/**
 * Bytes per element of each dtype.
 *
 * @example
 * const bytes = numel * SAFETENSORS_DTYPE_SIZE.BF16; // 2 per element
 */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
});

// The reference implementation (huggingface/safetensors, `Dtype` derives `Ord` in this declaration
// order) sorts tensors by this rank, highest first, so that every tensor stays aligned to its element
// size once the header is padded to 8 bytes. We must use the same rank to write byte-identical files.
const DTYPE_RANK: Readonly<Record<SafetensorsDtype, number>> = Object.freeze({
  BOOL: 0,
  U8: 1,
  I8: 2,
  F8_E5M2: 3,
  F8_E4M3: 4,
  I16: 5,
  U16: 6,
  F16: 7,
  BF16: 8,
  I32: 9,
  U32: 10,
  F32: 11,
  F64: 12,
  I64: 13,
  U64: 14,
});

/**
 * Whether `value` names a dtype this package recognises (see {@link SafetensorsDtype}).
 *
 * @example
 * if (!isSafetensorsDtype(info.dtype)) throw new Error(`unknown dtype ${info.dtype}`);
 */
export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_SIZE, value);
}

/** The reference writer's layout rank of a dtype (higher is written first). Internal. */
export function dtypeRank(dtype: SafetensorsDtype): number {
  return DTYPE_RANK[dtype];
}

// Typed-array views reinterpret the file's little-endian bytes in host order, which is only correct
// on little-endian hosts (every platform tfjs runs on today). We refuse loudly rather than return
// byte-swapped numbers on an exotic host.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Throws on a big-endian host, where our typed-array views would misread the file. Internal. */
export function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN) {
    throw new Error('safetensors: big-endian hosts are not supported (the format is little-endian)');
  }
}

// ---------------------------------------------------------------------------------------------
// float16
// ---------------------------------------------------------------------------------------------

// A full 65536-entry table (256 KiB) makes decoding one lookup per element; it is built on first use
// so importing this module costs nothing.
let f16Table: Uint32Array | undefined;

function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf, NaN keeps its payload
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // 112 = 127 - 15
  if (mant === 0) return sign >>> 0;
  // Subnormal half: renormalise so the leading 1 becomes the implicit bit of a normal float32.
  let e = 113; // the exponent a mantissa of 0x400 would have
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e -= 1;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

function getF16Table(): Uint32Array {
  if (!f16Table) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
    f16Table = t;
  }
  return f16Table;
}

/**
 * Decodes IEEE 754 binary16 bit patterns to float32 values. Exact: every half is representable as a
 * float32, including subnormals, signed zeros, infinities and NaN payloads.
 *
 * @param out optional destination of the same length (lets callers decode into a preallocated buffer)
 * @example
 * f16ToF32(new Uint16Array([0x3c00, 0x0001])); // Float32Array [1, 5.960464477539063e-8]
 */
export function f16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  if (out.length !== bits.length)
    throw new RangeError(`f16ToF32: out has ${out.length} elements, expected ${bits.length}`);
  const table = getF16Table();
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) o[i] = table[bits[i]!]!;
  return out;
}

/**
 * Encodes float32 values as binary16 bit patterns with round-to-nearest-even, bit-identical to numpy's
 * `astype(np.float16)`: values at or above 65520 in magnitude become infinity, values at or below half
 * the smallest subnormal become signed zero, NaN stays NaN (keeping the top payload bits).
 *
 * Gotcha: a `Float64Array` must be rounded to float32 first, which can differ from a direct
 * float64-to-half rounding on rare exact ties; pass float32 data when bit-exactness with a float64
 * source matters.
 *
 * @example
 * f32ToF16(new Float32Array([1, 65504, 1e6])); // Uint16Array [0x3c00, 0x7bff, 0x7c00]
 */
export function f32ToF16(
  values: Float32Array,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  if (out.length !== values.length)
    throw new RangeError(`f32ToF16: out has ${out.length} elements, expected ${values.length}`);
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < x.length; i++) {
    const b = x[i]!;
    const sign = (b >>> 16) & 0x8000;
    const abs = b & 0x7fffffff;
    let h: number;
    if (abs >= 0x7f800000) {
      // NaN keeps the top 10 payload bits, as numpy does; a payload that lived only in the dropped low
      // bits would turn the NaN into infinity, so it becomes the smallest payload instead.
      h = abs === 0x7f800000 ? 0x7c00 : 0x7c00 | ((abs >>> 13) & 0x3ff || 1);
    } else if (abs >= 0x477ff000) {
      h = 0x7c00; // >= 65520 rounds past the largest half (65504)
    } else if (abs >= 0x38800000) {
      // Normal half. Rebias the exponent (127 -> 15), then round away the low 13 mantissa bits; a
      // carry out of the mantissa correctly bumps the exponent.
      const m = abs - 0x38000000;
      h = (m + 0xfff + ((m >>> 13) & 1)) >>> 13;
    } else {
      const e = abs >>> 23;
      if (e < 102) {
        h = 0; // below 2^-25: closer to zero than to the smallest subnormal
      } else {
        // Subnormal half: the result counts units of 2^-24, i.e. the 24-bit significand shifted right.
        const sig = (abs & 0x7fffff) | 0x800000;
        const shift = 126 - e; // 14..24
        const q = sig >>> shift;
        const rem = sig & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        h = rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
      }
    }
    out[i] = sign | h;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// bfloat16
// ---------------------------------------------------------------------------------------------

/**
 * Decodes bfloat16 bit patterns to float32 values (exact: bfloat16 is the top half of a float32).
 *
 * @example
 * bf16ToF32(new Uint16Array([0x3f80])); // Float32Array [1]
 */
export function bf16ToF32(
  bits: Uint16Array,
  out: Float32Array = new Float32Array(bits.length),
): Float32Array {
  if (out.length !== bits.length)
    throw new RangeError(`bf16ToF32: out has ${out.length} elements, expected ${bits.length}`);
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i]! << 16;
  return out;
}

/**
 * Encodes float32 values as bfloat16 with round-to-nearest-even (what PyTorch's `.to(torch.bfloat16)`
 * and ml_dtypes do); finite values that round past the largest bfloat16 become infinity, NaN becomes the
 * canonical quiet NaN 0x7fc0 with its sign.
 *
 * @example
 * f32ToBf16(new Float32Array([1, 1.00390625])); // Uint16Array [0x3f80, 0x3f80] (tie to even)
 */
export function f32ToBf16(
  values: Float32Array,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  if (out.length !== values.length)
    throw new RangeError(`f32ToBf16: out has ${out.length} elements, expected ${values.length}`);
  const x = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < x.length; i++) {
    const b = x[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) {
      // Plain rounding could carry a NaN's payload into infinity. PyTorch and ml_dtypes both emit the
      // canonical quiet NaN (sign kept), so we do too.
      out[i] = ((b >>> 16) & 0x8000) | 0x7fc0;
    } else {
      out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}
