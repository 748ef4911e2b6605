/**
 * Throughput of @mmesid/llm2clip's encoders, written to benchmarks/results/llm2clip.json:
 *
 * - TfidfSvdTextEncoder (no backend): fit on all 12,086 Beauty titles and encode them;
 * - per backend (cpu, wasm, webgpu): f32 matmul GFLOP/s; LlamaMeanPoolTextEncoder over stories260k
 *   on a sample of Beauty titles; a tiny LLM2CLIP text encoder (stories260k run bidirectionally +
 *   a random 4-block adapter); a tiny CLIP ViT (random weights) on preprocessed pixels;
 * - CLIP preprocessing (Pillow-exact bicubic to 336 px, crop, normalise) of a 500x500 image (JS, no backend);
 * - projected time for Beauty at paper scale: FLOPs per item x 12,086 / measured matmul GFLOP/s.
 *
 * Run: pnpm --filter @mmesid/llm2clip bench [-- --backends=cpu,wasm,webgpu] [--tfidf-dim=128]
 * Figures depend on the machine's load, which is recorded with them.
 */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAuthorsItems } from '@mmesid/datasets';
import { countLlamaParameters, loadLlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { type BackendName, initBackend, measureMatmul, Rng, tf } from '@mmesid/tensor';
import { sharedRoot } from '@mmesid/test-utils/shared';
import {
  CLIP_IMAGE_PROCESSOR_336,
  ClipVisionModelWithProjection,
  clipVisionConfig,
  encodeItems,
  type Item,
  itemsFromMeta,
  LlamaMeanPoolTextEncoder,
  Llm2ClipTextAdapter,
  Llm2VecTextEncoder,
  loadTokenizer,
  type ModalityEncoder,
  preprocessClipImage,
  type RgbImage,
  TfidfSvdTextEncoder,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const shared = sharedRoot();
const storiesDir = join(shared, 'models', 'stories260k');
const beautyCsv = join(shared, 'datasets', 'beauty', 'items.csv');
const outFile = join(repo, 'benchmarks', 'results', 'llm2clip.json');

const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const backends = (args.get('backends') ?? 'cpu,wasm,webgpu').split(',') as BackendName[];
const tfidfDim = Number(args.get('tfidf-dim') ?? 128);

// Dawn (WebGPU in Node): initBackend tries the machine's GPU first and falls back to SwiftShader
// only when there is none, and reports the adapter.

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const log = (s: string) => console.log(s);

if (!existsSync(beautyCsv) || !existsSync(storiesDir)) {
  console.error(`needs ${beautyCsv} and ${storiesDir} (set MMESID_SHARED)`);
  process.exit(1);
}
const beauty = itemsFromMeta(parseAuthorsItems(readFileSync(beautyCsv, 'utf8'), { file: beautyCsv }).items);
const titles = beauty.map((i) => i.title!);
log(
  `Beauty: ${beauty.length} items, mean title ${round(titles.reduce((a, t) => a + t.length, 0) / titles.length, 1)} chars`,
);

/** Encodes `items` with `encoder` (in memory, warm-up batch first) and returns items/s. */
async function itemsPerSecond(encoder: ModalityEncoder, items: readonly Item[], batchSize: number) {
  await encoder.encode(items.slice(0, Math.min(batchSize, items.length)));
  const t0 = performance.now();
  const r = await encodeItems(items, encoder, { batchSize });
  const seconds = (performance.now() - t0) / 1000;
  if (r.missing.size) throw new Error(`${encoder.name}: ${r.missing.size} items missing`);
  return {
    items: items.length,
    batchSize,
    seconds: round(seconds),
    itemsPerSecond: round(items.length / seconds, 2),
  };
}

// ---- TF-IDF + truncated SVD (no backend) --------------------------------------------------
log(`\n[tfidf-svd] fitting on ${titles.length} titles, d = ${tfidfDim} ...`);
let t0 = performance.now();
const tfidf = TfidfSvdTextEncoder.fit(titles, { dim: tfidfDim, seed: 0 });
const fitSeconds = (performance.now() - t0) / 1000;
t0 = performance.now();
const tfidfRun = await encodeItems(beauty, tfidf, { batchSize: 512 });
const tfidfEncodeSeconds = (performance.now() - t0) / 1000;
const tfidfResult = {
  encoder: tfidf.name,
  titles: titles.length,
  features: tfidf.vectorizer.numFeatures,
  dim: tfidfDim,
  fitSeconds: round(fitSeconds, 2),
  encodeSeconds: round(tfidfEncodeSeconds, 2),
  encodeItemsPerSecond: round(titles.length / tfidfEncodeSeconds, 1),
  topSingularValues: Array.from(tfidf.singularValues.slice(0, 5), (s) => round(s, 4)),
  lastSingularValue: round(tfidf.singularValues[tfidfDim - 1]!, 4),
  // ||X X^T u - s^2 u|| / s^2 per singular pair: how far the randomized SVD is from exact.
  relativeResidual: {
    first: Number(tfidf.relativeResiduals[0]!.toExponential(2)),
    median: Number(
      [...tfidf.relativeResiduals].sort((a, b) => a - b)[Math.floor(tfidfDim / 2)]!.toExponential(2),
    ),
    last: Number(tfidf.relativeResiduals[tfidfDim - 1]!.toExponential(2)),
  },
  missing: tfidfRun.missing.size,
};
log(
  `[tfidf-svd] ${tfidfResult.features} features; fit ${tfidfResult.fitSeconds} s; encode ${tfidfResult.encodeItemsPerSecond} items/s`,
);

// ---- CLIP preprocessing (JS, backend-independent) --------------------------------------------
const img: RgbImage = (() => {
  const w = 500;
  const h = 500;
  const rng = new Rng(1);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (((i / 3) % w) + rng.int(64)) & 255;
  return { width: w, height: h, data };
})();
preprocessClipImage(img, CLIP_IMAGE_PROCESSOR_336);
t0 = performance.now();
let pre = 0;
while (performance.now() - t0 < 2000 || pre < 3) {
  preprocessClipImage(img, CLIP_IMAGE_PROCESSOR_336);
  pre++;
}
const preprocess = {
  input: '500x500 RGB',
  output: '3x336x336',
  imagesPerSecond: round(pre / ((performance.now() - t0) / 1000), 1),
};
log(`[preprocess] ${preprocess.imagesPerSecond} images/s (500x500 -> 336, Pillow-exact bicubic, JS)`);

// ---- Per backend -----------------------------------------------------------------------------
const tinyVision = clipVisionConfig({
  hiddenSize: 64,
  intermediateSize: 256,
  numHiddenLayers: 4,
  numAttentionHeads: 4,
  imageSize: 56,
  patchSize: 14,
  projectionDim: 32,
});
const tinyAdapter = { inputDim: 64, expansionFactor: 2, numBlocks: 4, projectionDim: 32 };
const perBackend: Record<string, unknown> = {};
const gflopsBy: Record<string, number> = {};
const tokenizer = await loadTokenizer(storiesDir);
for (const b of backends) {
  let gpuAdapter: string | undefined;
  try {
    gpuAdapter = (await initBackend({ require: b, log: false, ignoreEnv: true })).adapter;
  } catch (e) {
    perBackend[b] = { skipped: (e as Error).message };
    log(`\n[${b}] skipped: ${(e as Error).message}`);
    continue;
  }
  const slow = b === 'webgpu';
  log(`\n[${b}] (${tf.getBackend()}${gpuAdapter ? `, adapter: ${gpuAdapter}` : ''})`);
  const mm = await measureMatmul(slow ? 512 : 1024, 1000);
  gflopsBy[b] = mm.gflops;
  log(`[${b}] matmul ${mm.n}^3: ${round(mm.gflops, 2)} GFLOP/s`);

  // tfjs's cpu backend runs stories260k at well under 1 title/s here (53 tokens per title with its
  // 512-piece vocabulary), and SwiftShader WebGPU is slower still: small samples there.
  const sample = beauty.slice(0, b === 'wasm' ? 256 : 32);
  const model = await loadLlamaModel(storiesDir, { log: false });
  const meanPool = new LlamaMeanPoolTextEncoder(model, tokenizer, { modelName: 'stories260k' });
  const tokensPerTitle = sample.reduce((a, it) => a + meanPool.tokenize(it.title!).length, 0) / sample.length;
  const meanPoolFig = await itemsPerSecond(meanPool, sample, 16);
  log(
    `[${b}] ${meanPool.name}: ${meanPoolFig.itemsPerSecond} items/s (${round(tokensPerTitle, 1)} tokens/title)`,
  );

  const adapter = new Llm2ClipTextAdapter(tinyAdapter, { rng: new Rng(0) });
  const l2v = new Llm2VecTextEncoder(model, tokenizer, adapter, {
    modelName: 'stories260k',
    adapterName: 'random-4x64->32',
  });
  const l2vFig = await itemsPerSecond(l2v, sample, 16);
  log(`[${b}] ${l2v.name}: ${l2vFig.itemsPerSecond} items/s`);
  adapter.dispose();
  model.dispose();

  const vision = new ClipVisionModelWithProjection(tinyVision, { rng: new Rng(0) });
  const batch = 16;
  const px = tf.randomNormal([batch, 3, tinyVision.imageSize, tinyVision.imageSize], 0, 1, 'float32', 3);
  await tf.tidy(() => vision.forward(px)).data();
  const reps = slow ? 2 : 10;
  t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    const y = vision.forward(px);
    await y.data();
    y.dispose();
  }
  const visionSeconds = (performance.now() - t0) / 1000;
  const visionFig = {
    config: '56px/p14 (17 tokens), hidden 64 x 4 layers, 4 heads, mlp 256, proj 32, random weights',
    batchSize: batch,
    images: batch * reps,
    seconds: round(visionSeconds),
    imagesPerSecond: round((batch * reps) / visionSeconds, 2),
    gflopsAchieved: round((2 * vision.macsPerImage() * batch * reps) / visionSeconds / 1e9, 3),
  };
  log(`[${b}] tiny CLIP ViT: ${visionFig.imagesPerSecond} images/s (model only)`);
  px.dispose();
  vision.dispose();

  perBackend[b] = {
    tfjsBackend: tf.getBackend(),
    matmul: { n: mm.n, gflops: round(mm.gflops, 2) },
    llamaMeanPoolStories260k: {
      encoder: meanPool.name,
      tokensPerTitle: round(tokensPerTitle, 1),
      ...meanPoolFig,
    },
    tinyLlm2clipText: { encoder: l2v.name, ...l2vFig },
    tinyClipVision: visionFig,
  };
}

// ---- Paper scale: FLOPs and projected time for Beauty -----------------------------------------
const llama3 = parseLlamaConfig({
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  rope_theta: 500000,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
});
const CHARS_PER_TOKEN = 4;
const meanChars = titles.reduce((a, t) => a + t.length, 0) / titles.length;
const tokens = meanChars / CHARS_PER_TOKEN + 1;
const decoderParams =
  countLlamaParameters(llama3, { separateLmHead: false }) - llama3.vocab_size * llama3.hidden_size;
const attnFlopsPerToken =
  2 * 2 * tokens * llama3.num_attention_heads * llama3.head_dim * llama3.num_hidden_layers;
const textFlops = tokens * (2 * decoderParams + attnFlopsPerToken);
const adapterFlops = 2 * new Llm2ClipTextAdapter({}, { skipInit: true }).macsPerItem();
const vitL = Object.create(ClipVisionModelWithProjection.prototype) as ClipVisionModelWithProjection;
Object.defineProperty(vitL, 'config', { value: clipVisionConfig() });
const imageFlops = 2 * vitL.macsPerImage();
const N = 12086;
const projected = Object.fromEntries(
  Object.entries(gflopsBy).map(([b, g]) => [
    b,
    {
      gflops: round(g, 2),
      textHours: round((N * (textFlops + adapterFlops)) / (g * 1e9) / 3600, 2),
      imageHours: round((N * imageFlops) / (g * 1e9) / 3600, 2),
    },
  ]),
);
const paperScale = {
  items: N,
  assumptions: [
    `Llama-3-8B (hidden 4096, 32 layers, 32/8 heads, MLP 14336): ${(decoderParams / 1e9).toFixed(2)} B decoder parameters, 2 FLOPs per parameter per token, plus bidirectional attention 4*T*d per layer per token`,
    `tokens per title T = mean Beauty title length (${meanChars.toFixed(1)} chars) / ${CHARS_PER_TOKEN} chars per token + 1 BOS = ${tokens.toFixed(1)} (no Llama 3 tokenizer here to count exactly); no padding waste (length-sorted batches)`,
    'LLM2CLIP adapter: 4 blocks 4096 -> 8192 -> 4096, LayerNorm, 4096 -> 1280 (2 FLOPs per multiply-add)',
    'CLIP ViT-L/14-336: 577 tokens, 24 layers, hidden 1024, MLP 4096, projection 1280; matmuls only',
    'time = FLOPs x 12,086 / the f32 matmul GFLOP/s measured above on this machine, i.e. every matmul at peak and nothing else costs (optimistic)',
    'memory is not modelled: Llama-3-8B needs ~32 GB in float32 (more than this machine has; above the 4 GB WASM heap)',
  ],
  flopsPerTitleLlm: Number(textFlops.toExponential(3)),
  flopsPerTitleAdapter: Number(adapterFlops.toExponential(3)),
  flopsPerImage: Number(imageFlops.toExponential(3)),
  totalFlopsText: Number((N * (textFlops + adapterFlops)).toExponential(3)),
  totalFlopsImages: Number((N * imageFlops).toExponential(3)),
  // Arithmetic, not a measurement: divide by the sustained TFLOP/s of the machine you plan to use.
  hoursAtOneTflopPerSecond: {
    text: round((N * (textFlops + adapterFlops)) / 1e12 / 3600, 3),
    images: round((N * imageFlops) / 1e12 / 3600, 3),
  },
  projectedOnThisMachine: projected,
};
log(
  `\n[paper scale] per title ${(textFlops / 1e9).toFixed(1)} GFLOP (LLM) + ${(adapterFlops / 1e9).toFixed(2)} GFLOP (adapter); per image ${(imageFlops / 1e9).toFixed(1)} GFLOP`,
);
for (const [b, p] of Object.entries(projected))
  log(
    `[paper scale] ${b} at ${p.gflops} GFLOP/s: text ${p.textHours} h, images ${p.imageHours} h for ${N} items`,
  );

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: repo }).toString().trim();
} catch {}
const result = {
  benchmark: 'llm2clip',
  command: 'pnpm --filter @mmesid/llm2clip bench',
  date: new Date().toISOString(),
  commit,
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavg: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
  },
  notes: [
    'No LLM2CLIP weights exist on this machine: the tiny LLM2CLIP text and vision figures use random adapters/ViTs (stories260k is the real LLM weights).',
    'The offline encoders are named in every figure: llama-mean-pool(stories260k,...) and tfidf-svd(...). They are not LLM2CLIP.',
    'Image loading/decoding is not timed (no Beauty images here); preprocessing is timed on a synthetic 500x500 image.',
  ],
  tfidfSvd: tfidfResult,
  clipPreprocess: preprocess,
  backends: perBackend,
  paperScale,
};
await mkdir(dirname(outFile), { recursive: true });
const tmp = `${outFile}.tmp-${process.pid}`;
await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
await rename(tmp, outFile);
log(`\nwrote ${outFile}`);
