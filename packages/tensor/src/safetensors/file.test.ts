import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedDir } from '@mmesid/test-utils/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import { decodeSafetensor } from './decode.js';
import { loadSafetensors, openSafetensors, saveSafetensors } from './file.js';
import { readSafetensorsBytes } from './read.js';
import { serializeSafetensors } from './write.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixturePath = path.join(here, 'fixtures/dtypes.safetensors');
const fixture = new Uint8Array(readFileSync(fixturePath));

// Prints the reason when ../shared is absent; the stories260k tests then skip.
const stories = sharedDir('models/stories260k/model.safetensors');
const storiesPath = stories.path ?? '';
const haveStories = stories.path !== undefined;

let tmp = '';
let live = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mmesid-safetensors-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  live = tf.memory().numTensors;
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(tf.memory().numTensors, 'tensors leaked').toBe(live);
});

async function expectSafetensorsError(
  p: Promise<unknown>,
  message: RegExp,
  tensor?: string,
): Promise<SafetensorsError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(message);
  if (tensor !== undefined) expect((err as SafetensorsError).tensor).toBe(tensor);
  return err as SafetensorsError;
}

/** Counts the bytes every FileHandle.read returns, across all handles. */
async function spyOnReads(): Promise<{ bytes: () => number; calls: () => number }> {
  const probe = await fs.open(fixturePath, 'r');
  const proto = Object.getPrototypeOf(probe) as {
    read: (...args: unknown[]) => Promise<{ bytesRead: number }>;
  };
  await probe.close();
  let bytes = 0;
  let calls = 0;
  const original = proto.read;
  vi.spyOn(proto, 'read').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    const r = await original.apply(this, args);
    bytes += r.bytesRead;
    calls += 1;
    return r;
  });
  return { bytes: () => bytes, calls: () => calls };
}

describe('openSafetensors', () => {
  it('exposes the header and reads each tensor as the in-memory reader does', async () => {
    const f = await openSafetensors(fixturePath);
    try {
      const mem = readSafetensorsBytes(fixture).tensors;
      expect(f.metadata).toEqual({ format: 'pt', source: 'make_fixtures.py' });
      expect(f.keys()).toEqual([...mem.keys()]);
      expect(f.info('bf16')).toMatchObject({ dtype: 'BF16', shape: [3, 3], byteLength: 18 });
      for (const name of ['f32', 'f16', 'bf16', 'i32', 'i64', 'u8', 'bool', 'scalar', 'empty']) {
        const t = await f.readTensor(name);
        const want = decodeSafetensor(mem.get(name)!);
        expect([t.dtype, t.shape], name).toEqual([want.dtype, want.shape]);
        expect(await t.data(), name).toEqual(want.values);
        t.dispose();
      }
      const asFloat = await f.readTensor('i64_too_big', { dtype: 'float32' });
      expect(Array.from(await asFloat.data())).toEqual([2 ** 40, -5]);
      asFloat.dispose();
      const raw = await f.readTensorBytes('u16');
      expect(raw).toEqual({ dtype: 'U16', shape: [2], data: new Uint8Array([0, 0, 255, 255]) });
      await expectSafetensorsError(f.readTensor('i64_too_big'), /does not fit int32/, 'i64_too_big');
      expect(() => f.info('nope')).toThrow(/dtypes\.safetensors \[nope\]: no such tensor/);
    } finally {
      await f.close();
    }
    await f.close(); // idempotent
    await expectSafetensorsError(f.readTensor('f32'), /file is closed/, 'f32');
  });

  it('reads only the header and the requested tensor byte range from disk', async () => {
    const big = new Float32Array(64 * 1024).map((_, i) => i);
    const file = path.join(tmp, 'stream.safetensors');
    await fs.writeFile(
      file,
      serializeSafetensors({
        a: { data: big, shape: [256, 256] },
        b: { data: big.map((x) => -x), shape: [256, 256] },
        c: { data: new Float32Array([1, 2, 3]), shape: [3] },
      }),
    );
    const size = (await fs.stat(file)).size;
    const reads = await spyOnReads();
    const f = await openSafetensors(file);
    const afterOpen = reads.bytes();
    expect(afterOpen).toBe(f.header.dataStart); // 8 + N, nothing of the buffer
    const c = await f.readTensor('c');
    const b = await f.readTensor('b');
    await f.close();
    expect(reads.bytes()).toBe(afterOpen + 12 + 256 * 1024);
    expect(reads.bytes()).toBe(size - 256 * 1024); // everything but tensor a
    expect(Array.from(await c.data())).toEqual([1, 2, 3]);
    expect((await b.data())[1000]).toBe(-1000);
    tf.dispose([b, c]);
  });

  it.skipIf(!haveStories)('streams one tensor out of stories260k with the values numpy reads', async () => {
    const reads = await spyOnReads();
    const f = await openSafetensors(storiesPath);
    try {
      expect(f.keys()).toHaveLength(48);
      expect(f.metadata).toEqual({ format: 'pt' });
      expect(f.info('model.layers.0.self_attn.k_proj.weight')).toMatchObject({
        dtype: 'F32',
        shape: [32, 64],
      });
      const k = await f.readTensor('model.layers.0.self_attn.k_proj.weight');
      expect(reads.bytes()).toBe(8 + 4936 + 32 * 64 * 4);
      const v = await k.data();
      expect([v[0], v[1], v[v.length - 1], v[3 * 64 + 5]]).toEqual(
        [0.21613011, 0.18407108, -0.18465891, -0.56551033].map(Math.fround),
      );
      k.dispose();
    } finally {
      await f.close();
    }
  });

  it('rejects malformed and truncated files on disk, naming the file', async () => {
    const short = path.join(tmp, 'short.safetensors');
    await fs.writeFile(short, new Uint8Array([1, 2, 3]));
    expect((await expectSafetensorsError(openSafetensors(short), /shorter than the 8-byte/)).file).toBe(
      short,
    );

    const truncated = path.join(tmp, 'truncated.safetensors');
    await fs.writeFile(truncated, fixture.subarray(0, fixture.byteLength - 2));
    await expectSafetensorsError(openSafetensors(truncated), /run past the end .*truncated/, 'bool');

    const headerCut = path.join(tmp, 'header-cut.safetensors');
    await fs.writeFile(headerCut, fixture.subarray(0, 100));
    await expectSafetensorsError(
      openSafetensors(headerCut),
      /header length \d+ runs past the end of the file \(100 bytes/,
    );

    const badJson = path.join(tmp, 'bad-json.safetensors');
    const b = new Uint8Array(fixture);
    b[20] = 0x22; // a stray quote inside the header
    await fs.writeFile(badJson, b);
    await expectSafetensorsError(openSafetensors(badJson), /not valid JSON/);
  });

  it('notices a file that shrank after it was opened', async () => {
    const file = path.join(tmp, 'shrinks.safetensors');
    await fs.writeFile(file, fixture);
    const f = await openSafetensors(file);
    try {
      await fs.truncate(file, f.header.dataStart + 10);
      await expectSafetensorsError(f.readTensorBytes('bool'), /truncated/, 'bool');
    } finally {
      await f.close();
    }
  });

  it('lets Node I/O errors through with their code', async () => {
    await expect(openSafetensors(path.join(tmp, 'missing.safetensors'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});

describe('saveSafetensors / loadSafetensors', () => {
  it('round-trips tensors of several dtypes with metadata', async () => {
    const file = path.join(tmp, 'roundtrip.safetensors');
    const w = tf.tensor([
      [0.1, -2],
      [3.5, 1e-3],
    ]);
    const ids = tf.tensor([3, 1, 4], [3], 'int32');
    await saveSafetensors(
      file,
      {
        w,
        ids,
        'w.bf16': { tensor: w, dtype: 'BF16' },
        mask: { data: new Uint8Array([1, 0]), shape: [2], dtype: 'BOOL' },
      },
      { metadata: { format: 'pt', step: '12' } },
    );
    tf.dispose([w, ids]);
    // Byte-identical to the in-memory serialiser: the file writer streams the same layout.
    const loaded = await loadSafetensors(file);
    try {
      expect([...loaded.keys()].sort()).toEqual(['ids', 'mask', 'w', 'w.bf16']);
      expect(Array.from(await loaded.get('w')!.data())).toEqual([0.1, -2, 3.5, 1e-3].map(Math.fround));
      expect(Array.from(await loaded.get('w.bf16')!.data())).toEqual([
        0.10009765625, -2, 3.5, 0.00099945068359375,
      ]);
      expect(loaded.get('ids')!.dtype).toBe('int32');
      expect(loaded.get('mask')!.dtype).toBe('bool');
    } finally {
      tf.dispose([...loaded.values()]);
    }
    const f = await openSafetensors(file);
    expect(f.metadata).toEqual({ format: 'pt', step: '12' });
    await f.close();
    expect((await fs.readdir(tmp)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('writes the same bytes as serializeSafetensors', async () => {
    const file = path.join(tmp, 'same.safetensors');
    const inputs = readSafetensorsBytes(fixture).tensors;
    const wrapped = new Map([...inputs].map(([k, raw]) => [k, { raw }]));
    await saveSafetensors(file, wrapped, { metadata: { format: 'pt', source: 'make_fixtures.py' } });
    expect(new Uint8Array(await fs.readFile(file))).toEqual(fixture);
  });

  it('is atomic: a failing write leaves neither a file nor a temporary file', async () => {
    const dir = await fs.mkdtemp(path.join(tmp, 'atomic-'));
    const file = path.join(dir, 'model.safetensors');
    const writes = vi.fn();
    const inputs = {
      // F32 sorts first, so it is written before the U8 tensor fails to encode.
      big: { data: new Float32Array(4096), shape: [4096] },
      bad: { data: [1, 2, 300], shape: [3], dtype: 'U8' as const },
    };
    const probe = await fs.open(fixturePath, 'r');
    const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = proto.write;
    vi.spyOn(proto, 'write').mockImplementation(function (this: unknown, ...args: unknown[]) {
      writes();
      return original.apply(this, args);
    });
    await expectSafetensorsError(saveSafetensors(file, inputs), /value 300 at flat index 2/, 'bad');
    expect(writes.mock.calls.length).toBeGreaterThanOrEqual(2); // header and `big` had been written
    expect(await fs.readdir(dir)).toEqual([]);

    // An existing file survives a failed overwrite untouched.
    await fs.writeFile(file, fixture);
    await expectSafetensorsError(saveSafetensors(file, inputs), /value 300/, 'bad');
    expect(await fs.readdir(dir)).toEqual(['model.safetensors']);
    expect(new Uint8Array(await fs.readFile(file))).toEqual(fixture);
  });

  it('is atomic when reading a tensor fails midway', async () => {
    const dir = await fs.mkdtemp(path.join(tmp, 'atomic2-'));
    const file = path.join(dir, 'x.safetensors');
    const t = tf.tensor([1, 2]);
    const broken = Object.assign(Object.create(Object.getPrototypeOf(t)), t, {
      data: () => Promise.reject(new Error('device lost')),
    });
    await expect(saveSafetensors(file, { a: t, b: broken })).rejects.toThrow('device lost');
    t.dispose();
    expect(await fs.readdir(dir)).toEqual([]);
  });
});
