import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Dataset, ItemMeta } from '@mmesid/datasets';
import {
  ClipVisionEncoder,
  ClipVisionModelWithProjection,
  clipVisionConfigFromHf,
  Llm2ClipTextAdapter,
  Llm2VecTextEncoder,
  readEmbeddingTable,
  saveWeights,
} from '@mmesid/llm2clip';
import { Rng } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { hashOf, runStage } from '../cache.js';
import { llm2clipProblems } from '../options.js';
import {
  embeddingsConfig,
  type Llm2clipEmbeddingsConfig,
  type ModalityTable,
  readVisualTable,
  runEmbeddings,
} from './embeddings.js';

const stories = sharedDir('models', 'stories260k');
const tmp = mkdtempSync(join(tmpdir(), 'reproduce-emb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal PNG (8-bit RGB or grayscale, no filtering) from a pixel function. */
function png(w: number, h: number, channels: 1 | 3, px: (x: number, y: number, c: number) => number): Buffer {
  const raw = Buffer.alloc(h * (1 + w * channels));
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) raw[y * (1 + w * channels) + 1 + x * channels + c] = px(x, y, c);
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    td.copy(out, 4);
    out.writeUInt32BE(crc32(td), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const VISION_CONFIG = {
  architectures: ['LLM2CLIPModel'],
  projection_dim: 1280,
  vision_config: {
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_channels: 3,
    image_size: 28,
    patch_size: 7,
    layer_norm_eps: 1e-5,
    hidden_act: 'quick_gelu',
  },
};

/**
 * A `--llm2clip` folder with tiny random weights under the real checkpoint names: `text/` = a copy of
 * stories260k (the LLM2Vec Llama stand-in, d = 64), `vision/` = a 28 px CLIP ViT saved as
 * `vision_model.*` + `visual_projection.weight` with the LLM2CLIP text adapter (64 -> 4 blocks -> 1280)
 * as `text_adapter.adaptor.*` in the same model.safetensors, as in LLM2CLIP-Openai-L-14-336.
 */
async function tinyLlm2clipDir(dir: string): Promise<void> {
  mkdirSync(join(dir, 'text'), { recursive: true });
  mkdirSync(join(dir, 'vision'), { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.llama2c.json'])
    copyFileSync(join(stories.path!, f), join(dir, 'text', f));
  writeFileSync(join(dir, 'vision', 'config.json'), JSON.stringify(VISION_CONFIG, null, 2));
  const vision = new ClipVisionModelWithProjection(clipVisionConfigFromHf(VISION_CONFIG), {
    rng: new Rng(11),
  });
  const adapter = new Llm2ClipTextAdapter({ inputDim: 64 }, { rng: new Rng(12) });
  try {
    const extra = Object.fromEntries(
      Object.entries(adapter.stateDict()).map(([k, t]) => [`text_adapter.${k}`, t]),
    );
    await saveWeights(join(dir, 'vision', 'model.safetensors'), vision, { extra });
  } finally {
    vision.dispose();
    adapter.dispose();
  }
}

/** Seven items: images as PNG files (RGB, grayscale, wide), a missing file, a non-image, an unreachable URL, none; item 7 has no metadata. */
function tinyDataset(dir: string): Dataset {
  mkdirSync(dir, { recursive: true });
  const img = (name: string, data: Buffer | string) => {
    writeFileSync(join(dir, name), data);
    return join(dir, name);
  };
  const meta = (asin: string, title: string, imageUrl: string): ItemMeta => ({ asin, title, imageUrl });
  const items: (ItemMeta | null)[] = [
    null,
    meta(
      'A1',
      'opi nail lacquer red',
      img(
        'a1.png',
        png(40, 30, 3, (x, y, c) => (x * 6 + y * 3 + c * 80) % 256),
      ),
    ),
    meta(
      'A2',
      'shea butter hand cream',
      img(
        'a2.png',
        png(20, 24, 1, (x, y) => (x * y * 7) % 256),
      ),
    ),
    meta('A3', 'bb cream spf 30', join(dir, 'does-not-exist.jpg')),
    meta('A4', 'rose water toner', img('a4.jpg', 'not an image')),
    meta(
      'A5',
      'argan oil shampoo',
      img(
        'a5.png',
        png(64, 16, 3, (x, y, c) => (c === 1 ? x * 4 : y * 16) % 256),
      ),
    ),
    meta('A6', 'vitamin c serum', 'http://127.0.0.1:9/a6.jpg'),
    null,
  ];
  return {
    name: 'tiny-llm2clip',
    numItems: 7,
    sequences: [],
    userIds: [],
    items,
    provenance: { kind: 'synthetic', files: [], filters: [], notes: [] },
  };
}

function row(data: Float32Array, dim: number, r: number): Float32Array {
  return data.subarray(r * dim, (r + 1) * dim);
}

describeBackends(
  'embeddings stage with LLM2CLIP',
  ({ backend, tol }) => {
    it.skipIf(!stories.path)(
      'encodes titles and images through encodeItems: (numItems+1) x dim tables, missing images reported, cache reused',
      async () => {
        const dir = join(tmp, backend);
        const ckpt = join(dir, 'llm2clip');
        await tinyLlm2clipDir(ckpt);
        expect(llm2clipProblems(ckpt)).toEqual([]);
        const dataset = tinyDataset(join(dir, 'images'));
        const base = embeddingsConfig({ llm2clip: ckpt, seed: 1 }, 64, false) as Llm2clipEmbeddingsConfig;
        expect(base).toEqual({
          llm2clip: ckpt,
          text: { encoder: 'llm2clip', chatTemplate: 'none' },
          visual: { encoder: 'llm2clip', maxMissingFraction: 0.1 },
        });
        // 4 of 7 items have no usable image: keep the modality at a threshold of 60 %.
        const cfg = { ...base, visual: { ...base.visual, maxMissingFraction: 0.6 } };
        const runDir = join(dir, 'run');
        const lines: string[] = [];
        const run = () =>
          runStage(
            runDir,
            'embeddings',
            cfg,
            { data: 'test' },
            (ctx) => runEmbeddings(ctx, cfg, dataset, null),
            (m) => lines.push(m),
          );
        const first = await run();
        expect(first.cached).toBe(false);
        const { text } = first.summary;
        expect([text.rows, text.dim, text.missing, text.encoded]).toEqual([8, 1280, 0, 6]);
        expect(text.encoder).toContain('llm2clip-text(llama-mean-pool(text,bidirectional');
        expect('name' in first.summary.visual).toBe(true);
        const visual = first.summary.visual as ModalityTable;
        expect([visual.rows, visual.dim, visual.missing, visual.encoded]).toEqual([8, 1280, 3, 3]);
        expect(visual.missingExamples!.map((m) => m.id)).toEqual([3, 4, 6]);
        expect(visual.missingExamples![0]!.reason).toMatch(/file not found/);

        // The tables: row 0 zero, item 7 (no metadata) zero, vectors = the encoders run directly.
        const textTable = await readEmbeddingTable(join(first.dir, 'text.safetensors'));
        const vis = (await readVisualTable(first.dir, first.summary, null))!;
        expect([textTable.rows, textTable.dim, vis.rows, vis.cols]).toEqual([8, 1280, 8, 1280]);
        for (const t of [row(textTable.data, 1280, 0), row(textTable.data, 1280, 7), row(vis.data, 1280, 0)])
          expect(t.every((v) => v === 0)).toBe(true);
        for (const r of [3, 4, 6, 7]) expect(row(vis.data, 1280, r).every((v) => v === 0)).toBe(true);
        const visTable = await readEmbeddingTable(join(first.dir, 'visual.safetensors'));
        expect([...visTable.missing.keys()].sort()).toEqual([3, 4, 6]);
        expect(visTable.missing.get(4)).toBeTruthy();
        expect(visTable.missing.get(6)).toBeTruthy();

        const textEnc = await Llm2VecTextEncoder.fromPretrained(join(ckpt, 'text'), join(ckpt, 'vision'));
        const titles = [1, 2, 3, 4, 5, 6].map((id) => dataset.items[id]!.title);
        const direct = await textEnc.encode(titles);
        textEnc.dispose();
        expect(maxAbsDiff(textTable.data.subarray(1280, 7 * 1280), direct)).toBeLessThan(10 * tol);
        const visEnc = await ClipVisionEncoder.fromPretrained(join(ckpt, 'vision'));
        const images = await visEnc.encode([1, 2, 5].map((id) => dataset.items[id]!.imageUrl));
        visEnc.dispose();
        for (const [k, id] of [1, 2, 5].entries())
          expect(maxAbsDiff(row(vis.data, 1280, id), row(images, 1280, k))).toBeLessThan(10 * tol);
        expect(maxAbsDiff(row(images, 1280, 0), row(images, 1280, 1))).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(row(direct, 1280, 0), row(direct, 1280, 1))).toBeGreaterThan(1e-3);

        // Re-run: the finished stage is reused as is.
        const again = await run();
        expect(again.cached).toBe(true);
        expect(again.summary).toEqual(first.summary);
        // Run again in the same folder (as after an interruption), at the default threshold: nothing is
        // encoded again, the missing images are not retried, and the visual modality is left out.
        const strict = { ...cfg, visual: { ...cfg.visual, maxMissingFraction: 0.1 } };
        const log: string[] = [];
        const resumed = await runEmbeddings(
          { workDir: first.dir, log: (m) => log.push(m) },
          strict,
          dataset,
          null,
        );
        expect([resumed.text.encoded, resumed.text.fromCache]).toEqual([0, 6]);
        expect('missing' in resumed.visual && typeof resumed.visual.missing === 'string').toBe(true);
        const left = resumed.visual as { missing: string; table: ModalityTable };
        expect(left.missing).toMatch(/visual modality left out: 4 of 7 items have no loadable image/);
        expect([left.table.encoded, left.table.fromCache, left.table.missing]).toEqual([0, 3, 3]);
        expect(await readVisualTable(first.dir, resumed, null)).toBeUndefined();
        expect(log.some((l) => l.includes('visual modality left out'))).toBe(true);
      },
    );
  },
  {
    exclude: {
      webgpu: 'stories260k through SwiftShader takes minutes; the stage code is backend-independent',
      tensorflow: 'the stage code is backend-independent; cpu and wasm cover it',
    },
  },
);

describe('embeddings stage config', () => {
  it('keeps the tiny preset key; the encoder and the --llm2clip folder change it', () => {
    expect(embeddingsConfig({ seed: 42 }, 64, true)).toEqual({
      text: { encoder: 'tfidf-svd', dim: 64, seed: 42 },
      visual: 'synthetic-features',
    });
    expect(hashOf(embeddingsConfig({ seed: 42 }, 64, false))).toBe(
      hashOf({ text: { encoder: 'tfidf-svd', dim: 64, seed: 42 }, visual: 'missing' }),
    );
    const a = hashOf(embeddingsConfig({ llm2clip: '/m/a', seed: 42 }, 64, true));
    const b = hashOf(embeddingsConfig({ llm2clip: '/m/b', seed: 42 }, 64, true));
    expect(a).not.toBe(b);
    expect(a).not.toBe(hashOf(embeddingsConfig({ seed: 42 }, 64, true)));
  });
});
