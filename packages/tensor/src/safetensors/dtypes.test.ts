import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_SIZE,
} from './dtypes.js';

// Expected values come from fixtures/make_fixtures.py (numpy for float16, a from-first-principles
// nearest-value search for bfloat16), not from the code under test.
const convert = JSON.parse(
  readFileSync(new URL('./fixtures/convert.expected.json', import.meta.url), 'utf8'),
) as {
  f16_encode_cases: [number, number][];
  bf16_encode_cases: [number, number][];
  sweep: { seed: number; count: number; f16_fnv1a: number; bf16_fnv1a: number };
  f16_decode_all_fnv1a: number;
};

function fnv1a(values: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < values.length; i++) h = Math.imul(h ^ values[i]!, 16777619) >>> 0;
  return h;
}

function xorshift32(seed: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x;
  }
  return out;
}

const f32FromBits = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);
const hex = (n: number) => `0x${n.toString(16)}`;

describe('float16', () => {
  it('encodes hand-picked edge cases exactly as numpy (ties, subnormals, overflow, NaN payloads)', () => {
    const cases = convert.f16_encode_cases;
    expect(cases.length).toBeGreaterThan(40);
    const got = f32ToF16(f32FromBits(cases.map((c) => c[0])));
    cases.forEach(([input, want], i) => {
      expect(hex(got[i]!), `f32 bits ${hex(input)}`).toBe(hex(want));
    });
  });

  it('encodes a pseudo-random sweep over all float32 bit patterns exactly as numpy', () => {
    const { seed, count, f16_fnv1a } = convert.sweep;
    const input = xorshift32(seed, count);
    const got = f32ToF16(new Float32Array(input.buffer));
    expect(fnv1a(got)).toBe(f16_fnv1a);
  });

  it('decodes all 65536 half bit patterns exactly as numpy', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = new Uint32Array(f16ToF32(all).buffer);
    expect(fnv1a(got)).toBe(convert.f16_decode_all_fnv1a);
  });

  it('keeps named special values', () => {
    const f = f16ToF32(new Uint16Array([0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x8000, 0x7e00]));
    expect(f[0]).toBe(2 ** -24);
    expect(f[1]).toBe(1023 * 2 ** -24);
    expect(f[2]).toBe(2 ** -14);
    expect(f[3]).toBe(65504);
    expect(f[4]).toBe(Infinity);
    expect(f[5]).toBe(-Infinity);
    expect(Object.is(f[6], -0)).toBe(true);
    expect(f[7]).toBeNaN();
    // Round trip of every non-NaN half is the identity.
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    for (let h = 0; h < 65536; h++) {
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (!nan && back[h] !== h) throw new Error(`half ${hex(h)} came back as ${hex(back[h]!)}`);
    }
  });
});

describe('bfloat16', () => {
  it('encodes hand-picked edge cases with round-to-nearest-even (canonical NaN)', () => {
    const cases = convert.bf16_encode_cases;
    const got = f32ToBf16(f32FromBits(cases.map((c) => c[0])));
    cases.forEach(([input, want], i) => {
      expect(hex(got[i]!), `f32 bits ${hex(input)}`).toBe(hex(want));
    });
  });

  it('encodes a pseudo-random sweep exactly as the independent Python rounding', () => {
    const { seed, count, bf16_fnv1a } = convert.sweep;
    const got = f32ToBf16(new Float32Array(xorshift32(seed, count).buffer));
    expect(fnv1a(got)).toBe(bf16_fnv1a);
  });

  it('decodes by widening, exactly', () => {
    const f = bf16ToF32(new Uint16Array([0x3f80, 0xc000, 0x7f80, 0x0001, 0x7fc0]));
    expect(Array.from(f.slice(0, 4))).toEqual([1, -2, Infinity, 2 ** -133]);
    expect(f[4]).toBeNaN();
  });

  it('works on subarray views and rejects mismatched outputs', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    expect(Array.from(f32ToBf16(backing.subarray(1, 3)))).toEqual([0x3f80, 0x4000]);
    expect(() => f32ToF16(new Float32Array(2), new Uint16Array(3))).toThrow(RangeError);
  });
});

describe('dtype table', () => {
  it('knows the spec sizes and rejects unknown names', () => {
    expect(SAFETENSORS_DTYPE_SIZE.BF16).toBe(2);
    expect(SAFETENSORS_DTYPE_SIZE.I64).toBe(8);
    expect(isSafetensorsDtype('F32')).toBe(true);
    expect(isSafetensorsDtype('F4')).toBe(false);
    expect(isSafetensorsDtype('toString')).toBe(false);
  });
});
