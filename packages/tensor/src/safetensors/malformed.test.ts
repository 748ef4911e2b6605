import '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { tf } from '../tf.js';
import { loadSafetensors, openSafetensors } from './file.js';
import { parseSafetensorsHeader } from './header.js';
import { openCheckpoint, saveShardedSafetensors } from './sharded.js';

let tmp = '';
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mmesid-malformed-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** A safetensors file from a header text and a byte buffer. */
function fileOf(header: string, buffer: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(buffer, 8 + h.length);
  return out;
}

describe('duplicate names in a safetensors header', () => {
  it('an F32 entry followed by an I32 entry of the same name is refused (JSON.parse would keep the I32)', () => {
    const header =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}';
    const bytes = fileOf(header, new Uint8Array(8));
    expect(() => parseSafetensorsHeader(bytes, 'dup.safetensors')).toThrow(SafetensorsError);
    expect(() => parseSafetensorsHeader(bytes, 'dup.safetensors')).toThrow(
      /^dup\.safetensors \[w\]: header lists "w" twice \(at character \d+ of the header\)/,
    );
  });

  it('a second __metadata__ is refused', () => {
    const header =
      '{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect(() => parseSafetensorsHeader(fileOf(header, new Uint8Array(4)), 'm.safetensors')).toThrow(
      /^m\.safetensors: header lists "__metadata__" twice/,
    );
  });

  it('a repeated field inside an entry is refused, naming the tensor', () => {
    const header = '{"w":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}';
    expect(() => parseSafetensorsHeader(fileOf(header, new Uint8Array(4)), 'f.safetensors')).toThrow(
      /^f\.safetensors \[w\]: header lists key "dtype" of "w" twice/,
    );
  });
});

describe('files and indexes that are not what they say', () => {
  it('a shard path that is a directory names it', async () => {
    const d = path.join(tmp, 'isdir.safetensors');
    await fs.mkdir(d);
    await expect(openSafetensors(d)).rejects.toThrow(
      `${d}: cannot open: is a directory, expected a .safetensors file (EISDIR)`,
    );
    await expect(loadSafetensors(path.join(tmp, 'absent.safetensors'))).rejects.toBeInstanceOf(
      SafetensorsError,
    );
  });

  it('an empty weight_map and a shard the index does not list are refused', async () => {
    const dir = path.join(tmp, 'sharded');
    const a = { data: new Float32Array(300), shape: [300] };
    await saveShardedSafetensors(dir, { a, b: a, c: a }, { maxShardBytes: 1300 });
    const index = path.join(dir, 'model.safetensors.index.json');
    const json = JSON.parse(await fs.readFile(index, 'utf8'));
    const shards = [...new Set(Object.values(json.weight_map))] as string[];
    expect(shards.length).toBe(3);
    // Drop the last shard from the index: its tensors would vanish.
    const last = shards[2]!;
    const partial = {
      ...json,
      weight_map: Object.fromEntries(Object.entries(json.weight_map).filter(([, f]) => f !== last)),
    };
    await fs.writeFile(index, JSON.stringify(partial));
    await expect(openCheckpoint(dir)).rejects.toThrow(
      `${index}: ${last} is in the checkpoint directory but the weight_map lists none of its tensors`,
    );
    await fs.writeFile(index, JSON.stringify({ ...json, weight_map: {} }));
    await expect(openCheckpoint(dir)).rejects.toThrow(`${index}: weight_map is empty`);
    await fs.writeFile(
      index,
      '{"weight_map":{"a":"model-00001-of-00003.safetensors","a":"model-00002-of-00003.safetensors"}}',
    );
    await expect(openCheckpoint(dir)).rejects.toThrow(/lists "a" in "weight_map" twice/);
  });
});

describe('failed writes name the file', () => {
  it('a full disk during a write is an MmesidError naming the target, and no temporary file stays', async () => {
    const { writeFileAtomic } = await import('@mmesid/core');
    const target = path.join(tmp, 'full.safetensors');
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const err = await writeFileAtomic(target, async () => {
      throw enospc;
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`${target}: cannot write: no space left on the device (ENOSPC)`);
    expect(err).toMatchObject({ code: 'ENOSPC', cause: enospc });
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith('full.safetensors'))).toEqual([]);
  });

  it('a folder that does not exist is named too', async () => {
    const target = path.join(tmp, 'no-such-folder', 'x.safetensors');
    const { saveSafetensors } = await import('./file.js');
    await expect(saveSafetensors(target, { a: { data: new Float32Array(1), shape: [1] } })).rejects.toThrow(
      `${target}: cannot write: its folder does not exist (ENOENT)`,
    );
  });
});

it('writeJsonAtomic names the target when it cannot write', async () => {
  const { writeJsonAtomic } = await import('@mmesid/core');
  const target = path.join(tmp, 'missing-folder', 'state.json');
  await expect(writeJsonAtomic(target, { a: 1 })).rejects.toThrow(
    `${target}: cannot write: its folder does not exist (ENOENT)`,
  );
});
