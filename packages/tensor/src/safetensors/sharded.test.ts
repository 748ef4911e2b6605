import '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import { loadCheckpoint, openCheckpoint, saveShardedSafetensors } from './sharded.js';
import { type SafetensorsArrayInput, serializeSafetensors } from './write.js';

let tmp = '';
let live = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mmesid-sharded-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  live = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked').toBe(live);
});

const f32 = (n: number, start: number): SafetensorsArrayInput => ({
  data: new Float32Array(n).map((_, i) => start + i),
  shape: [n],
});

// Byte sizes 400, 400, 400, 1200, 100 against a 1000-byte limit: [a b] [c] [d alone: too big] [e].
const inputs = () =>
  new Map<string, SafetensorsArrayInput>([
    ['a', f32(100, 0)],
    ['b', f32(100, 1000)],
    ['c', f32(100, 2000)],
    ['d', f32(300, 3000)],
    ['e', { data: new Int32Array(25).fill(7), shape: [5, 5] }],
  ]);

async function newDir(name: string): Promise<string> {
  return fs.mkdtemp(path.join(tmp, `${name}-`));
}

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

describe('saveShardedSafetensors + openCheckpoint', () => {
  it('packs tensors greedily into shards with an index and reads them back across shards', async () => {
    const dir = await newDir('sharded');
    const saved = await saveShardedSafetensors(dir, inputs(), {
      maxShardBytes: 1000,
      metadata: { note: 'x' },
    });
    const names = [
      'model-00001-of-00004.safetensors',
      'model-00002-of-00004.safetensors',
      'model-00003-of-00004.safetensors',
      'model-00004-of-00004.safetensors',
    ];
    expect(saved.files).toEqual(names.map((n) => path.join(dir, n)));
    expect(saved.totalSize).toBe(2500);
    expect((await fs.readdir(dir)).sort()).toEqual([...names, 'model.safetensors.index.json'].sort());

    const index = JSON.parse(await fs.readFile(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    expect(index).toEqual({
      metadata: { total_size: 2500 },
      weight_map: { a: names[0], b: names[0], c: names[1], d: names[2], e: names[3] },
    });

    const ckpt = await openCheckpoint(dir);
    try {
      expect(ckpt.sharded).toBe(true);
      expect(ckpt.metadata).toEqual({ total_size: 2500 });
      expect(ckpt.keys()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(ckpt.info('d')).toMatchObject({ dtype: 'F32', shape: [300], file: path.join(dir, names[2]!) });
      const c = await ckpt.readTensor('c');
      expect((await c.data())[5]).toBe(2005);
      const e = await ckpt.readTensor('e');
      expect([e.dtype, e.shape]).toEqual(['int32', [5, 5]]);
      tf.dispose([c, e]);
      expect((await ckpt.readTensorBytes('a')).data.byteLength).toBe(400);
      expect(() => ckpt.info('zzz')).toThrow(/no such tensor/);
    } finally {
      await ckpt.close();
    }

    // Every shard carries the metadata transformers expects.
    const shard = await openCheckpoint(path.join(dir, names[0]!));
    expect(shard.sharded).toBe(false);
    expect(shard.metadata).toEqual({ format: 'pt', note: 'x' });
    await shard.close();

    // The index file itself can be opened too, and loadCheckpoint reads everything.
    const all = await loadCheckpoint(path.join(dir, 'model.safetensors.index.json'));
    expect([...all.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await all.get('d')!.data())[299]).toBe(3299);
    tf.dispose([...all.values()]);
  });

  it('writes a single model.safetensors when everything fits, replacing a stale sharded save', async () => {
    const dir = await newDir('single');
    await saveShardedSafetensors(dir, inputs(), { maxShardBytes: 1000 });
    const saved = await saveShardedSafetensors(dir, inputs());
    expect(saved.files).toEqual([path.join(dir, 'model.safetensors')]);
    expect(saved.index).toBeUndefined();
    expect(await fs.readdir(dir)).toEqual(['model.safetensors']); // old shards and index removed
    const ckpt = await openCheckpoint(dir);
    expect(ckpt.sharded).toBe(false);
    expect(ckpt.keys().sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(ckpt.info('e').file).toBe(path.join(dir, 'model.safetensors'));
    await ckpt.close();

    // And back to sharded: the stale single file must go, or openCheckpoint would prefer it.
    await saveShardedSafetensors(dir, inputs(), { maxShardBytes: 1000 });
    expect(await fs.readdir(dir)).not.toContain('model.safetensors');
    const again = await openCheckpoint(dir);
    expect(again.sharded).toBe(true);
    await again.close();
  });

  it('is atomic: a failure in a later shard leaves the previous checkpoint and no temporary files', async () => {
    const dir = await newDir('atomic');
    await saveShardedSafetensors(dir, inputs(), { maxShardBytes: 1000 });
    const before = new Map<string, Buffer>();
    for (const n of await fs.readdir(dir)) before.set(n, await fs.readFile(path.join(dir, n)));

    const bad = inputs();
    bad.set('e', { data: [1, 2, 3.5], shape: [3], dtype: 'I32' }); // fails in the last shard
    bad.set('a', f32(100, -1)); // would change shard 1 if anything were committed
    await expectSafetensorsError(saveShardedSafetensors(dir, bad, { maxShardBytes: 1000 }), /value 3.5/, 'e');

    expect((await fs.readdir(dir)).sort()).toEqual([...before.keys()].sort());
    for (const [n, bytes] of before) expect(await fs.readFile(path.join(dir, n))).toEqual(bytes);
  });

  it('validates before writing anything', async () => {
    const dir = await newDir('validate');
    await expectSafetensorsError(
      saveShardedSafetensors(dir, { a: { data: [1], shape: [2] } }),
      /has 1 values but shape \[2\] needs 2/,
      'a',
    );
    await expectSafetensorsError(
      saveShardedSafetensors(dir, {}, { maxShardBytes: 0 }),
      /maxShardBytes must be positive/,
    );
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('openCheckpoint errors', () => {
  async function shardedDir(name: string): Promise<string> {
    const dir = await newDir(name);
    await saveShardedSafetensors(dir, inputs(), { maxShardBytes: 1000 });
    return dir;
  }
  const indexOf = (dir: string) => path.join(dir, 'model.safetensors.index.json');
  async function editIndex(dir: string, edit: (index: { weight_map: Record<string, string> }) => void) {
    const index = JSON.parse(await fs.readFile(indexOf(dir), 'utf8'));
    edit(index);
    await fs.writeFile(indexOf(dir), JSON.stringify(index));
  }

  it('rejects an index that points to a missing shard', async () => {
    const dir = await shardedDir('missing-shard');
    await fs.rm(path.join(dir, 'model-00002-of-00004.safetensors'));
    const e = await expectSafetensorsError(
      openCheckpoint(dir),
      /model-00002-of-00004\.safetensors, which does not exist/,
      'c',
    );
    expect(e.file).toBe(indexOf(dir));
  });

  it('rejects a tensor missing from the shard the index names', async () => {
    const dir = await shardedDir('missing-tensor');
    await editIndex(dir, (i) => {
      i.weight_map.zz = 'model-00001-of-00004.safetensors';
    });
    const e = await expectSafetensorsError(
      openCheckpoint(dir),
      /listed in model\.safetensors\.index\.json but missing/,
      'zz',
    );
    expect(e.file).toBe(path.join(dir, 'model-00001-of-00004.safetensors'));
  });

  it('rejects a tensor present in two shards', async () => {
    const dir = await shardedDir('duplicate');
    // Rewrite shard 2 so that it also holds `a`, which the index places in shard 1.
    await fs.writeFile(
      path.join(dir, 'model-00002-of-00004.safetensors'),
      serializeSafetensors({ a: f32(100, 0), c: f32(100, 2000) }),
    );
    await expectSafetensorsError(openCheckpoint(dir), /duplicate tensor: also in model-00001-of-00004/, 'a');
  });

  it('rejects a shard tensor the index does not list', async () => {
    const dir = await shardedDir('unlisted');
    await editIndex(dir, (i) => {
      delete i.weight_map.b;
    });
    await expectSafetensorsError(openCheckpoint(dir), /present in this shard but not listed/, 'b');
  });

  it('rejects a malformed index, a shard outside the directory and an empty directory', async () => {
    const dir = await shardedDir('malformed');
    await fs.writeFile(indexOf(dir), '{"weight_map": ');
    await expectSafetensorsError(openCheckpoint(dir), /index is not valid JSON/);
    await fs.writeFile(indexOf(dir), '{"metadata": {}}');
    await expectSafetensorsError(openCheckpoint(dir), /"weight_map" object/);
    await fs.writeFile(indexOf(dir), JSON.stringify({ weight_map: { a: '../elsewhere.safetensors' } }));
    await expectSafetensorsError(openCheckpoint(dir), /outside the checkpoint directory/, 'a');
    await fs.writeFile(indexOf(dir), JSON.stringify({ weight_map: { a: 3 } }));
    await expectSafetensorsError(openCheckpoint(dir), /expected a file name/, 'a');
    await expectSafetensorsError(
      openCheckpoint(await newDir('empty')),
      /no model\.safetensors or model\.safetensors\.index\.json/,
    );
  });

  it('rejects a malformed shard, naming the shard file', async () => {
    const dir = await shardedDir('bad-shard');
    const shard = path.join(dir, 'model-00003-of-00004.safetensors');
    const bytes = await fs.readFile(shard);
    await fs.writeFile(shard, bytes.subarray(0, bytes.byteLength - 1));
    const e = await expectSafetensorsError(openCheckpoint(dir), /truncated/, 'd');
    expect(e.file).toBe(shard);
  });
});
