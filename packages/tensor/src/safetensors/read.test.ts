import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedDir } from '@mmesid/test-utils/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import { decodeSafetensor, type SafetensorsRawTensor } from './decode.js';
import { loadSafetensorsBytes, rawToTfTensor, readSafetensorsBytes } from './read.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = readFileSync(path.join(here, 'fixtures/dtypes.safetensors'));
const expected = JSON.parse(readFileSync(path.join(here, 'fixtures/dtypes.expected.json'), 'utf8')) as {
  metadata: Record<string, string>;
  tensors: Record<
    string,
    {
      dtype: string;
      shape: number[];
      tf_dtype?: 'float32' | 'int32' | 'bool';
      f32_bits?: number[];
      values?: number[];
      error?: string;
      as_float32_bits?: number[];
    }
  >;
};

// Prints the reason when ../shared is absent; the stories260k tests then skip.
const stories = sharedDir('models/stories260k/model.safetensors');
const storiesPath = stories.path ?? '';
const haveStories = stories.path !== undefined;

const bitsOf = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));

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

describe('readSafetensorsBytes on the numpy-written fixture', () => {
  const { tensors, metadata } = readSafetensorsBytes(fixture, { file: 'dtypes.safetensors' });

  it('lists every tensor with its dtype and shape, and the metadata', () => {
    expect(metadata).toEqual(expected.metadata);
    expect([...tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, exp] of Object.entries(expected.tensors)) {
      const raw = tensors.get(name)!;
      expect([raw.dtype, raw.shape], name).toEqual([exp.dtype, exp.shape]);
    }
  });

  it('decodes every dtype to the values numpy computed (bit-exact, incl. -0, inf, NaN, subnormals)', () => {
    for (const [name, exp] of Object.entries(expected.tensors)) {
      if (exp.error) continue;
      const d = decodeSafetensor(tensors.get(name)!, { name });
      expect(d.dtype, name).toBe(exp.tf_dtype);
      expect(d.shape, name).toEqual(exp.shape);
      if (exp.f32_bits) expect(bitsOf(d.values), name).toEqual(exp.f32_bits);
      else expect(Array.from(d.values), name).toEqual(exp.values);
    }
  });

  it('throws naming the file and tensor when an I64 value does not fit int32', () => {
    const raw = tensors.get('i64_too_big')!;
    let err: unknown;
    try {
      decodeSafetensor(raw, { file: 'dtypes.safetensors', name: 'i64_too_big' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).tensor).toBe('i64_too_big');
    expect((err as Error).message).toMatch(
      /dtypes\.safetensors \[i64_too_big\].*1099511627776 at flat index 0 does not fit int32/,
    );
    // Asked for float32 explicitly, the same tensor reads.
    expect(bitsOf(decodeSafetensor(raw, { dtype: 'float32' }).values)).toEqual(
      expected.tensors.i64_too_big!.as_float32_bits,
    );
  });

  it('throws when an F64 value overflows float32', () => {
    expect(() => decodeSafetensor(tensors.get('f64_too_big')!, { name: 'f64_too_big' })).toThrow(
      /f64_too_big.*outside the float32 range/,
    );
  });

  it('refuses lossy float-to-int reads and reads ints and bools as requested', () => {
    expect(() => decodeSafetensor(tensors.get('f32')!, { dtype: 'int32', name: 'f32' })).toThrow(
      /cannot read F32 as int32/,
    );
    expect(Array.from(decodeSafetensor(tensors.get('u8')!, { dtype: 'bool' }).values)).toEqual([
      0, 1, 1, 1, 1, 1,
    ]);
    expect(Array.from(decodeSafetensor(tensors.get('i32')!, { dtype: 'float32' }).values)).toEqual(
      [-2147483648, 2147483647, 0, -7].map(Math.fround),
    );
    expect(Array.from(decodeSafetensor(tensors.get('bool')!, { dtype: 'int32' }).values)).toEqual([1, 0, 1]);
  });

  it('returns views of the input bytes, and decodes copies that do not alias them', () => {
    const raw = tensors.get('f32')!;
    expect(raw.data.buffer).toBe(fixture.buffer);
    const d = decodeSafetensor(raw);
    expect(d.values.buffer).not.toBe(fixture.buffer);
    const adopted = decodeSafetensor({ ...raw, data: raw.data.slice() }, { reuseBuffer: true });
    expect(adopted.values.byteLength).toBe(40);
  });

  it('decodes from unaligned bytes (a foreign writer without header padding)', () => {
    const backing = new Uint8Array(9);
    backing.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const raw: SafetensorsRawTensor = { dtype: 'F32', shape: [2], data: backing.subarray(1) };
    expect(Array.from(decodeSafetensor(raw, { reuseBuffer: true }).values)).toEqual([1.5, -2]);
    const i64 = new Uint8Array(17);
    i64.set(new Uint8Array(new BigInt64Array([-3n, 7n]).buffer), 1);
    expect(Array.from(decodeSafetensor({ dtype: 'I64', shape: [2], data: i64.subarray(1) }).values)).toEqual([
      -3, 7,
    ]);
  });

  it('checks U32/U64 against the int32 range and the byte count against the shape', () => {
    const u32 = {
      dtype: 'U32' as const,
      shape: [2],
      data: new Uint8Array(new Uint32Array([5, 2 ** 31]).buffer),
    };
    expect(() => decodeSafetensor(u32, { name: 'u' })).toThrow(/U32 value 2147483648 at flat index 1/);
    const u64 = {
      dtype: 'U64' as const,
      shape: [1],
      data: new Uint8Array(new BigUint64Array([2n ** 63n]).buffer),
    };
    expect(() => decodeSafetensor(u64, { name: 'u' })).toThrow(/U64 value 9223372036854775808/);
    expect(() =>
      decodeSafetensor({ dtype: 'F16', shape: [3], data: new Uint8Array(4) }, { name: 'h' }),
    ).toThrow(/holds 4 bytes but F16 \[3\] needs 6/);
    expect(() => decodeSafetensor({ dtype: 'F8_E4M3', shape: [1], data: new Uint8Array(1) })).toThrow(
      /not supported/,
    );
  });

  it('makes tfjs tensors of the right dtype, shape and values', async () => {
    const bf = rawToTfTensor(tensors.get('model.layers.0.mlp.gate_proj.weight')!);
    expect(bf.dtype).toBe('float32');
    expect(bf.shape).toEqual([2, 3]);
    expect(Array.from(await bf.data())).toEqual([0.5, -0.25, 1.5, 2.0, -3.0, 0.125]);
    const b = rawToTfTensor(tensors.get('bool')!);
    expect(b.dtype).toBe('bool');
    const s = rawToTfTensor(tensors.get('scalar')!);
    expect(s.shape).toEqual([]);
    expect(await s.data()).toEqual(new Float32Array([42.5]));
    const e = rawToTfTensor(tensors.get('empty')!);
    expect(e.shape).toEqual([0, 3]);
    tf.dispose([bf, b, s, e]);
  });

  it('loadSafetensorsBytes frees what it made when a later tensor fails', () => {
    expect(() => loadSafetensorsBytes(fixture, { file: 'dtypes.safetensors' })).toThrow(/too_big/);
    // The afterEach hook checks that nothing leaked.
  });
});

describe.skipIf(!haveStories)('stories260k model.safetensors (shared data)', () => {
  it('reads all 48 float32 tensors with the values numpy reads', async () => {
    const bytes = haveStories ? readFileSync(storiesPath) : new Uint8Array();
    const weights = loadSafetensorsBytes(bytes, { file: storiesPath });
    try {
      expect(weights.size).toBe(48);
      expect(weights.get('model.embed_tokens.weight')!.shape).toEqual([512, 64]);
      expect(weights.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([32, 64]);
      expect(weights.get('lm_head.weight')!.shape).toEqual([512, 64]);
      for (const t of weights.values()) expect(t.dtype).toBe('float32');
      // Reference values computed with numpy.frombuffer(..., '<f4') over the same file.
      const emb = await weights.get('model.embed_tokens.weight')!.data();
      expect([emb[0], emb[1], emb[emb.length - 1], emb[3 * 64 + 5]]).toEqual(
        [-0.29474878, 0.5618956, -0.4240326, 0.23134264].map(Math.fround),
      );
      const k = await weights.get('model.layers.0.self_attn.k_proj.weight')!.data();
      expect([k[0], k[1], k[k.length - 1], k[3 * 64 + 5]]).toEqual(
        [0.21613011, 0.18407108, -0.18465891, -0.56551033].map(Math.fround),
      );
      const norm = await weights.get('model.norm.weight')!.data();
      expect(norm[0]).toBe(Math.fround(2.458309));
      let sum = 0;
      for (const v of k) sum += v;
      expect(sum).toBeCloseTo(-16.508645431225887, 9);
    } finally {
      tf.dispose([...weights.values()]);
    }
  });
});
