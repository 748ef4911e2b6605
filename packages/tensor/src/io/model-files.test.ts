import '@tensorflow/tfjs-backend-cpu';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MmesidError, SafetensorsError } from '../errors.js';
import { serializeSafetensors } from '../safetensors/write.js';
import { tf } from '../tf.js';
import { type LoadProgress, modelFiles, openCheckpointFiles } from './model-files.js';

const a = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], dtype: 'F32' as const };
const b = { data: new Int32Array([7, -8]), shape: [2], dtype: 'I32' as const };
const single = new Uint8Array(serializeSafetensors({ a, b }, { format: 'pt' }));
const shard1 = new Uint8Array(serializeSafetensors({ a }));
const shard2 = new Uint8Array(serializeSafetensors({ b }));
const index = JSON.stringify({
  metadata: { total_size: 32 },
  weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
});

async function values(ckpt: Awaited<ReturnType<typeof openCheckpointFiles>>) {
  const out: Record<string, number[]> = {};
  for (const k of ckpt.keys()) {
    const t = await ckpt.readTensor(k);
    out[k] = Array.from(await t.data());
    t.dispose();
  }
  return out;
}

describe('modelFiles over Blobs', () => {
  it('reads a single-file checkpoint and JSON by name, and names a missing file', async () => {
    await tf.setBackend('cpu');
    const files = modelFiles({
      'config.json': new Blob(['{"x":1}']),
      'model.safetensors': new Blob([single]),
    });
    expect(files.kind).toBe('blobs');
    expect(await files.json('config.json')).toEqual({ x: 1 });
    const ckpt = await openCheckpointFiles(files);
    expect(ckpt.sharded).toBe(false);
    expect(await values(ckpt)).toEqual({ a: [1, 2, 3, 4, 5, 6], b: [7, -8] });
    await expect(files.json('tokenizer.json')).rejects.toThrow(/tokenizer\.json.*not found/);
  });

  it('takes the Files of a picked folder by base name and a sharded index', async () => {
    const picked = [
      new File([index], 'model.safetensors.index.json'),
      new File([shard1], 'model-00001-of-00002.safetensors'),
      new File([shard2], 'model-00002-of-00002.safetensors'),
    ];
    const ckpt = await openCheckpointFiles(modelFiles(picked));
    expect(ckpt.sharded).toBe(true);
    expect(ckpt.metadata).toEqual({ total_size: 32 });
    expect(await values(ckpt)).toEqual({ a: [1, 2, 3, 4, 5, 6], b: [7, -8] });
  });

  it('rejects an index whose shard lacks a listed tensor, or holds one it does not list', async () => {
    const wrong = JSON.stringify({
      weight_map: { a: 'model-00002-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
    });
    const files = modelFiles({
      'model.safetensors.index.json': new Blob([wrong]),
      'model-00002-of-00002.safetensors': new Blob([shard2]),
    });
    await expect(openCheckpointFiles(files)).rejects.toThrow(SafetensorsError);
    await expect(openCheckpointFiles(files)).rejects.toThrow(/missing from this shard/);
    const extra = JSON.stringify({ weight_map: { a: 'model.safetensors-1.safetensors' } });
    const files2 = modelFiles({
      'model.safetensors.index.json': new Blob([extra]),
      'model.safetensors-1.safetensors': new Blob([single]),
    });
    await expect(openCheckpointFiles(files2)).rejects.toThrow(/"b".*not listed|not listed/);
    await expect(openCheckpointFiles(modelFiles({}))).rejects.toThrow(
      /no model\.safetensors or model\.safetensors\.index\.json/,
    );
  });
});

describe('modelFiles over a base URL', () => {
  let server: Server;
  let base = '';
  const served: Record<string, Uint8Array | string> = {
    '/m/config.json': '{"hidden_size":4}',
    '/m/model.safetensors': single,
    '/broken/model.safetensors': 'oops',
  };
  const requests: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const body = served[req.url ?? ''];
      if (req.url === '/err/model.safetensors') return void res.writeHead(500).end();
      if (body === undefined) return void res.writeHead(404).end();
      const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
      res.writeHead(200, { 'content-length': buf.length }).end(buf);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches each file relative to the base (with or without a trailing slash), reporting progress', async () => {
    const progress: LoadProgress[] = [];
    const files = modelFiles(`${base}/m`, { onProgress: (p) => progress.push(p) });
    expect(files.kind).toBe('url');
    expect(files.label).toBe(`${base}/m/`);
    expect(await files.json('config.json')).toEqual({ hidden_size: 4 });
    const ckpt = await openCheckpointFiles(files);
    expect(await values(ckpt)).toEqual({ a: [1, 2, 3, 4, 5, 6], b: [7, -8] });
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
    expect(last).toEqual({ file: 'model.safetensors', loaded: single.length, total: single.length });
    expect(requests).toContain('/m/model.safetensors');
  });

  it('treats 404 as missing and other failures as errors naming the URL', async () => {
    const files = modelFiles(new URL(`${base}/m/`));
    expect(await files.tryText('tokenizer_config.json')).toBeUndefined();
    await expect(openCheckpointFiles(modelFiles(`${base}/broken/`))).rejects.toThrow(
      /broken\/model\.safetensors/,
    );
    await expect(openCheckpointFiles(modelFiles(`${base}/err/`))).rejects.toThrow(MmesidError);
    await expect(openCheckpointFiles(modelFiles(`${base}/err/`))).rejects.toThrow(
      /err\/model\.safetensors: HTTP 500/,
    );
  });
});
