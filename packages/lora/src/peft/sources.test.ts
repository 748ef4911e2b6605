// loadAdapter from a base URL and from File/Blob objects fills the same lora_A/lora_B bytes as from
// the directory saveAdapter wrote.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, initBackend } from '@mmesid/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomizeAdapters, ToyLlama } from '../__fixtures__/toy-llama.js';
import { applyLora } from '../apply.js';
import type { LoraModel } from '../lora-model.js';
import { loadAdapter } from './load.js';
import { saveAdapter } from './save.js';

async function adapterBytes(lora: LoraModel): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [p, l] of lora.layers) {
    out[`${p}.A`] = Array.from(await l.loraA.weight.data());
    out[`${p}.B`] = Array.from(await l.loraB.weight.data());
  }
  return out;
}

describe('loadAdapter from a URL and from Blobs', () => {
  let dir = '';
  let server: Server;
  let base = '';
  let saved: Record<string, number[]>;
  let blobs: Record<string, Blob>;

  beforeAll(async () => {
    await initBackend({ require: 'cpu', log: false, ignoreEnv: true });
    dir = await mkdtemp(join(tmpdir(), 'mmesid-lora-src-'));
    const lora = applyLora(new ToyLlama(), {
      r: 4,
      alpha: 8,
      targetModules: ['gate_proj', 'down_proj'],
      seed: 3,
    });
    randomizeAdapters(lora.model);
    await saveAdapter(lora, join(dir, 'adapter'));
    saved = await adapterBytes(lora);
    blobs = {};
    for (const f of await readdir(join(dir, 'adapter')))
      blobs[f] = new Blob([await readFile(join(dir, 'adapter', f))]);
    server = createServer(async (req, res) => {
      const blob = blobs[(req.url ?? '').replace(/^\/a\//, '')];
      if (!blob || !req.url?.startsWith('/a/')) return void res.writeHead(404).end();
      const buf = Buffer.from(await blob.arrayBuffer());
      res.writeHead(200, { 'content-length': buf.length }).end(buf);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the same adapter from the directory, the URL and the Blobs', async () => {
    const fromDir = await loadAdapter(new ToyLlama(), join(dir, 'adapter'));
    expect(await adapterBytes(fromDir)).toEqual(saved);
    const fromUrl = await loadAdapter(new ToyLlama(), `${base}/a/`);
    expect(await adapterBytes(fromUrl)).toEqual(saved);
    expect([...fromUrl.layers.keys()]).toEqual([...fromDir.layers.keys()]);
    const fromBlobs = await loadAdapter(new ToyLlama(), blobs);
    expect(await adapterBytes(fromBlobs)).toEqual(saved);
    for (const l of [fromDir, fromUrl, fromBlobs]) l.model.dispose();
  });

  it('names the missing file of a URL or Blob adapter', async () => {
    await expect(loadAdapter(new ToyLlama(), `${base}/none/`)).rejects.toThrow(ConfigError);
    await expect(loadAdapter(new ToyLlama(), `${base}/none/`)).rejects.toThrow(/none\/adapter_config\.json/);
    const onlyConfig = { 'adapter_config.json': blobs['adapter_config.json']! };
    await expect(loadAdapter(new ToyLlama(), onlyConfig)).rejects.toThrow(
      /adapter_model\.safetensors.*not found/,
    );
  });
});
