import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import { decodeSafetensor } from './decode.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, SAFETENSORS_DTYPE_SIZE } from './dtypes.js';
import { parseSafetensorsHeader } from './header.js';
import { readSafetensorsBytes } from './read.js';
import { type SafetensorsInput, serializeSafetensors, serializeSafetensorsAsync } from './write.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = new Uint8Array(readFileSync(path.join(here, 'fixtures/dtypes.safetensors')));
const fixtureMeta = { format: 'pt', source: 'make_fixtures.py' };

const headerText = (bytes: Uint8Array) => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(bytes.subarray(8, 8 + n));
};

let live = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  live = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked').toBe(live);
});

describe('serializeSafetensors layout', () => {
  it('reproduces the numpy-written fixture byte for byte from raw tensors, in any input order', () => {
    const { tensors } = readSafetensorsBytes(fixture);
    const entries = [...tensors]
      .reverse()
      .map(([name, raw]) => [name, { raw }] as [string, SafetensorsInput]);
    expect(serializeSafetensors(new Map(entries), fixtureMeta)).toEqual(fixture);
  });

  it('reproduces it byte for byte from decoded numbers, re-encoding every dtype (F16/BF16 included)', () => {
    const { tensors } = readSafetensorsBytes(fixture);
    const inputs: Record<string, SafetensorsInput> = {};
    for (const [name, raw] of tensors) {
      if (raw.dtype === 'F64') {
        inputs[name] = { raw }; // float32 cannot hold these exactly
        continue;
      }
      // 2^40 does not fit int32 but is exact in float32; the other I64 values need int32.
      const { values } = decodeSafetensor(raw, name === 'i64_too_big' ? { dtype: 'float32' } : {});
      inputs[name] = { data: values, shape: raw.shape, dtype: raw.dtype };
    }
    expect(serializeSafetensors(inputs, fixtureMeta)).toEqual(fixture);
  });

  it('writes the same header as the reference implementation for known cases', () => {
    const one = serializeSafetensors({ 'attn.0': { data: [0, 1, 2, 3, 4, 5], shape: [1, 2, 3] } });
    expect(headerText(one)).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(one.byteLength).toBe(8 + 64 + 24);
    // One byte shorter name: the header is padded with spaces to the next multiple of 8.
    const padded = serializeSafetensors({ attn0: { data: [0, 1, 2, 3, 4, 5], shape: [1, 1, 2, 3] } });
    expect(headerText(padded)).toBe(
      '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ',
    );
    expect(Array.from(serializeSafetensors({}))).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32,
    ]);
    expect(headerText(serializeSafetensors({}, { framework: 'pt' }))).toBe(
      '{"__metadata__":{"framework":"pt"}}     ',
    );
  });

  it('orders tensors by dtype alignment, then by name in code point (UTF-8) order', () => {
    const bytes = serializeSafetensors({
      b: { data: [1], shape: [1], dtype: 'BOOL' },
      u8: { data: [1], shape: [1], dtype: 'U8' },
      f16: { data: [1], shape: [1], dtype: 'F16' },
      bf16: { data: [1], shape: [1], dtype: 'BF16' },
      i32: { data: [1], shape: [1], dtype: 'I32' },
      zf32: { data: [1], shape: [1], dtype: 'F32' },
      af32: { data: [1], shape: [1], dtype: 'F32' },
      '\u{1F600}': { data: [1], shape: [1], dtype: 'F32' },
      '\u{FF61}': { data: [1], shape: [1], dtype: 'F32' },
      f64: { data: [1], shape: [1], dtype: 'F64' },
      i64: { data: [1], shape: [1], dtype: 'I64' },
    });
    const keys = [...parseSafetensorsHeader(bytes, 'x').tensors.keys()];
    expect(keys).toEqual([
      'i64',
      'f64',
      'af32',
      'zf32',
      '\u{FF61}',
      '\u{1F600}',
      'i32',
      'bf16',
      'f16',
      'u8',
      'b',
    ]);
    // Every tensor starts at a multiple of its element size in the file.
    const h = parseSafetensorsHeader(bytes, 'x');
    for (const info of h.tensors.values()) {
      expect((h.dataStart + info.dataOffsets[0]) % SAFETENSORS_DTYPE_SIZE[info.dtype]).toBe(0);
    }
  });
});

describe('serializeSafetensors round trips', () => {
  const samples = new Float32Array([
    0,
    -0,
    1,
    -1.5,
    0.1,
    1 / 3,
    65504,
    70000,
    1e-6,
    6e-8,
    1e30,
    -Infinity,
    NaN,
  ]);

  it.each([
    ['F32', (x: Float32Array) => x],
    ['F16', (x: Float32Array) => f16ToF32(f32ToF16(x))],
    ['BF16', (x: Float32Array) => bf16ToF32(f32ToBf16(x))],
  ] as const)('writes float32 tensors as %s and reads back the rounded values', async (dtype, round) => {
    const t = tf.tensor(samples, [13]);
    const bytes = serializeSafetensors({ w: t }, undefined, { floatDtype: dtype });
    t.dispose();
    const raw = readSafetensorsBytes(bytes).tensors.get('w')!;
    expect(raw.dtype).toBe(dtype);
    expect(decodeSafetensor(raw).values).toEqual(round(samples));
  });

  it('rounds to nearest even when writing F16 and BF16', () => {
    const bytes = serializeSafetensors({
      h: { data: new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520]), shape: [3], dtype: 'F16' },
      b: { data: new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8]), shape: [2], dtype: 'BF16' },
    });
    const { tensors } = readSafetensorsBytes(bytes);
    expect(Array.from(decodeSafetensor(tensors.get('h')!).values)).toEqual([1, 1 + 2 ** -9, Infinity]);
    expect(Array.from(decodeSafetensor(tensors.get('b')!).values)).toEqual([1, 1 + 2 ** -6]);
  });

  it('writes every integer dtype from tfjs tensors and typed arrays', () => {
    const ints = tf.tensor([-5, 0, 7, 2147483647], [2, 2], 'int32');
    const bools = tf.tensor([1, 0, 1], [3], 'bool');
    const bytes = serializeSafetensors({
      i32: ints,
      i64: { tensor: ints, dtype: 'I64' },
      f32: { tensor: ints, dtype: 'F32' },
      bool: bools,
      u8: { data: new Uint8Array([0, 200, 255]), shape: [3] },
      i8: { data: [-128, 127], shape: [2], dtype: 'I8' },
      i16: { data: new Int16Array([-300, 300]), shape: [2] },
      u16: { data: [65535], shape: [1], dtype: 'U16' },
      u32: { data: [4294967295], shape: [1], dtype: 'U32' },
      big: { data: new BigInt64Array([-(2n ** 62n), 3n]), shape: [2] },
      ubig: { data: new BigUint64Array([2n ** 64n - 1n]), shape: [1] },
      neg64: { data: [-1, -4294967296, 2 ** 53 - 1], shape: [3], dtype: 'I64' },
    });
    tf.dispose([ints, bools]);
    const { tensors } = readSafetensorsBytes(bytes);
    const get = (n: string) => tensors.get(n)!;
    expect([
      get('i32').dtype,
      get('i64').dtype,
      get('bool').dtype,
      get('u8').dtype,
      get('i16').dtype,
    ]).toEqual(['I32', 'I64', 'BOOL', 'U8', 'I16']);
    expect(Array.from(decodeSafetensor(get('i64')).values)).toEqual([-5, 0, 7, 2147483647]);
    expect(decodeSafetensor(get('i64')).shape).toEqual([2, 2]);
    expect(Array.from(decodeSafetensor(get('f32')).values)).toEqual([-5, 0, 7, 2147483648]);
    expect(Array.from(decodeSafetensor(get('bool')).values)).toEqual([1, 0, 1]);
    expect(Array.from(decodeSafetensor(get('u8')).values)).toEqual([0, 200, 255]);
    expect(Array.from(decodeSafetensor(get('i8')).values)).toEqual([-128, 127]);
    expect(Array.from(decodeSafetensor(get('i16')).values)).toEqual([-300, 300]);
    expect(Array.from(decodeSafetensor(get('u16')).values)).toEqual([65535]);
    expect(Array.from(new BigInt64Array(get('big').data.slice().buffer))).toEqual([-(2n ** 62n), 3n]);
    expect(Array.from(new BigUint64Array(get('ubig').data.slice().buffer))).toEqual([2n ** 64n - 1n]);
    expect(Array.from(new BigInt64Array(get('neg64').data.slice().buffer))).toEqual([
      -1n,
      -4294967296n,
      2n ** 53n - 1n,
    ]);
    expect(() => decodeSafetensor(get('u32'))).toThrow(/U32 value 4294967295/);
  });

  it('gives the same bytes from the async serializer', async () => {
    const t = tf.tensor([
      [1, 2],
      [3, 4],
    ]);
    const inputs = { t, ids: { data: new Int32Array([1, 2]), shape: [2] } };
    const sync = serializeSafetensors(inputs, { a: 'b' }, { floatDtype: 'BF16' });
    const async_ = await serializeSafetensorsAsync(inputs, { a: 'b' }, { floatDtype: 'BF16' });
    t.dispose();
    expect(async_).toEqual(sync);
  });
});

describe('serializeSafetensors errors', () => {
  const err = (fn: () => unknown): SafetensorsError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(SafetensorsError);
      return e as SafetensorsError;
    }
    throw new Error('expected a SafetensorsError');
  };

  it.each([
    [
      'a U8 value out of range',
      { x: { data: [1, 256], shape: [2], dtype: 'U8' } },
      /value 256 at flat index 1 is not an integer in the U8 range/,
    ],
    ['a fractional I32 value', { x: { data: [1.5], shape: [1], dtype: 'I32' } }, /value 1.5 at flat index 0/],
    ['a NaN I64 value', { x: { data: [Number.NaN], shape: [1], dtype: 'I64' } }, /value NaN/],
    [
      'an unsafe I64 number',
      { x: { data: [2 ** 60], shape: [1], dtype: 'I64' } },
      /not an integer in the I64 range/,
    ],
    ['a BOOL value that is not 0 or 1', { x: { data: [2], shape: [1], dtype: 'BOOL' } }, /is not 0 or 1/],
    [
      'a bigint out of the I32 range',
      { x: { data: new BigInt64Array([2n ** 40n]), shape: [1], dtype: 'I32' } },
      /outside the I32 range/,
    ],
    [
      'a value count that does not match the shape',
      { x: { data: [1, 2, 3], shape: [2, 2] } },
      /has 3 values but shape \[2,2\] needs 4/,
    ],
    ['a negative dimension', { x: { data: [], shape: [-1] } }, /not a list of non-negative integers/],
    ['an unknown dtype', { x: { data: [1], shape: [1], dtype: 'F4' } }, /unknown dtype "F4"/],
    ['FP8 output', { x: { data: [1], shape: [1], dtype: 'F8_E4M3' } }, /writing F8_E4M3 is not supported/],
    [
      'raw bytes of the wrong length',
      { x: { raw: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } } },
      /raw data has 4 bytes/,
    ],
    [
      'a tensor named __metadata__',
      { __metadata__: { data: [1], shape: [1] } },
      /cannot be named __metadata__/,
    ],
    ['an input of unknown kind', { x: { values: [1] } }, /is neither a tfjs tensor/],
  ])('rejects %s, naming the tensor', (_what, inputs, message) => {
    const e = err(() => serializeSafetensors(inputs as never, undefined, { file: 'out.safetensors' }));
    expect(e.message).toMatch(message);
    expect(e.file).toBe('out.safetensors');
  });

  it('rejects duplicate names, non-string metadata and unknown float dtypes', () => {
    const x = { data: [1], shape: [1] };
    expect(
      err(() =>
        serializeSafetensors([
          ['a', x],
          ['a', x],
        ]),
      ).message,
    ).toMatch(/\[a\]: tensor name given twice/);
    expect(err(() => serializeSafetensors({ a: x }, { step: 3 as unknown as string })).message).toMatch(
      /metadata\["step"\]/,
    );
    expect(
      err(() => serializeSafetensors({ a: x }, undefined, { floatDtype: 'F8' as never })).message,
    ).toMatch(/floatDtype/);
  });

  it('rejects tfjs string tensors', () => {
    const s = tf.tensor(['a'], [1], 'string');
    expect(err(() => serializeSafetensors({ s })).message).toMatch(/cannot write a tfjs string tensor/);
    s.dispose();
  });
});
