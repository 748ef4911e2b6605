/**
 * Llama throughput per backend, written to benchmarks/results/llama.json:
 * - stories260k (real weights): prefill and decode tokens/s on cpu, wasm, webgpu;
 * - a Llama-shaped model with random weights at 1B-like width (hidden 2048, intermediate 5632,
 *   16 layers, 32 query / 8 KV heads, vocab 32000, tied) for a handful of tokens;
 * - the memory Llama3-8B needs at F16 and F32.
 *
 * Run: pnpm --filter @mmesid/llama bench [-- --only=stories|1b] [--backends=cpu,wasm,webgpu]
 * Numbers depend on the machine's load, which is recorded with them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendName, initBackend, Rng, tf } from '@mmesid/tensor';
import { sharedRoot } from '@mmesid/test-utils/shared';
import {
  countLlamaParameters,
  fromPretrained,
  type LlamaConfig,
  LlamaForCausalLM,
  parseLlamaConfig,
  WASM_HEAP_LIMIT_BYTES,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const shared = sharedRoot();
const storiesDir = join(shared, 'models', 'stories260k');
const outFile = join(repo, 'benchmarks', 'results', 'llama.json');

const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const only = args.get('only');
const backends = (args.get('backends') ?? 'cpu,wasm,webgpu').split(',') as BackendName[];

// Dawn (WebGPU in Node): initBackend tries the machine's GPU first and falls back to SwiftShader
// only when there is none; the adapter it used is printed and stored with the figures.

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Throughput {
  prefillTokens: number;
  prefillSeconds: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeSeconds: number;
  decodeTokensPerSecond: number;
  repeats: number;
}

/** Prefill: one forward over `promptLen` tokens (last-position logits read back). Decode: cached steps. */
async function measure(
  lm: LlamaForCausalLM,
  promptLen: number,
  decodeTokens: number,
  repeats: number,
): Promise<Throughput> {
  const vocab = lm.config.vocab_size;
  const prompt = Array.from({ length: promptLen }, (_, i) => (i === 0 ? 1 : 3 + ((i * 7919) % (vocab - 3))));
  const prefill: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const out = lm.forward({ inputIds: [prompt], logitsFor: 'last' });
    await out.logits!.data();
    prefill.push((performance.now() - t0) / 1000);
    tf.dispose([out.logits!, out.lastHiddenState]);
  }
  const decode: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const stamps: number[] = [];
    await lm.generate(prompt.slice(0, 1), {
      maxNewTokens: decodeTokens + 1,
      eosTokenId: null,
      onToken: () => stamps.push(performance.now()),
    });
    // The first token includes the one-token prefill; the rest are pure cached decode steps.
    decode.push((stamps[stamps.length - 1]! - stamps[0]!) / 1000);
  }
  const p = median(prefill);
  const d = median(decode);
  return {
    prefillTokens: promptLen,
    prefillSeconds: round(p, 4),
    prefillTokensPerSecond: round(promptLen / p, 1),
    decodeTokens,
    decodeSeconds: round(d, 4),
    decodeTokensPerSecond: round(decodeTokens / d, 2),
    repeats,
  };
}

let adapter: string | undefined;
async function useBackend(b: BackendName): Promise<string | null> {
  try {
    adapter = (await initBackend({ require: b, log: false, ignoreEnv: true })).adapter;
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

function backendFlavour(b: BackendName): Record<string, unknown> {
  if (b === 'webgpu') return { adapter };
  if (b !== 'wasm') return {};
  return {
    simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

/** Fills every parameter from a shared pool of seeded uniform values (fast; values only need to be sane). */
function randomizeWeights(lm: LlamaForCausalLM, seed: number): void {
  const rng = new Rng(seed);
  const pool = rng.fillUniform(new Float32Array(1 << 22), -0.035, 0.035); // std ~0.02
  for (const [name, p] of lm.namedParameters()) {
    const vals = new Float32Array(p.size);
    if (name.endsWith('norm.weight')) vals.fill(1);
    else {
      let off = rng.int(pool.length);
      for (let i = 0; i < vals.length; ) {
        const n = Math.min(vals.length - i, pool.length - off);
        vals.set(pool.subarray(off, off + n), i);
        i += n;
        off = 0;
      }
    }
    const t = tf.tensor(vals, p.shape, 'float32');
    p.assign(t);
    t.dispose();
  }
}

const results: Record<string, unknown> = {
  generatedAt: new Date().toISOString(),
  command: 'pnpm --filter @mmesid/llama bench',
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
    node: process.version,
    note: 'shared 2-core machine; other work was running, so figures are lower bounds of what this code does here',
  },
};

// --- Llama3-8B memory (analytic) ---
const llama3_8b = parseLlamaConfig({
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  vocab_size: 128256,
  rope_theta: 500000,
  tie_word_embeddings: false,
});
{
  const params = countLlamaParameters(llama3_8b);
  const kvPerToken = 2 * llama3_8b.num_hidden_layers * llama3_8b.num_key_value_heads * llama3_8b.head_dim * 4;
  results.llama3_8b_memory = {
    parameters: params,
    f16Bytes: params * 2,
    f16GB: round((params * 2) / 1e9, 2),
    f32Bytes: params * 4,
    f32GB: round((params * 4) / 1e9, 2),
    kvCacheF32BytesPerToken: kvPerToken,
    note:
      'F16/BF16 is the size on disk; tfjs computes in float32 only, so a loaded model takes the F32 figure. ' +
      'The paper ran the base model in 4-bit NF4 (bitsandbytes), which tfjs cannot do.',
  };
  console.log(
    `Llama3-8B: ${params.toLocaleString('en-US')} params; F16 ${round((params * 2) / 1e9)} GB, F32 ${round((params * 4) / 1e9)} GB; KV cache ${kvPerToken / 1024} KiB/token in F32`,
  );
}

// --- stories260k ---
if (only !== '1b') {
  const out: Record<string, unknown> = {};
  if (!existsSync(storiesDir)) out.skipped = `not found at ${storiesDir}`;
  for (const b of existsSync(storiesDir) ? backends : []) {
    const err = await useBackend(b);
    if (err) {
      out[b] = { skipped: err };
      continue;
    }
    const lm = await fromPretrained(storiesDir, { log: false });
    const slow = b === 'webgpu';
    await measure(lm, 8, 4, 1); // warm-up (kernels, shader compilation)
    const r = await measure(lm, slow ? 32 : 128, slow ? 16 : 128, slow ? 1 : 3);
    lm.dispose();
    out[b] = { ...r, ...backendFlavour(b) };
    console.log(
      `stories260k ${b}: prefill ${r.prefillTokensPerSecond} tok/s (${r.prefillTokens} tokens), decode ${r.decodeTokensPerSecond} tok/s`,
    );
  }
  results.stories260k = { parameters: 260_032, ...out };
}

// --- 1B-like random model ---
if (only !== 'stories') {
  const cfg: LlamaConfig = parseLlamaConfig({
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 32000,
    rope_theta: 500000,
    tie_word_embeddings: true,
  });
  const params = countLlamaParameters(cfg);
  const out: Record<string, unknown> = {
    config: {
      hidden_size: 2048,
      intermediate_size: 5632,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 32000,
      tie_word_embeddings: true,
    },
    parameters: params,
    f32Bytes: params * 4,
    note:
      'Random weights. Intermediate 5632 (TinyLlama/Llama-2 ratio) rather than 8192 and a tied 32000 vocabulary keep ' +
      `the float32 weights (${round((params * 4) / 1e9)} GB) under the wasm32 heap limit of ${round(WASM_HEAP_LIMIT_BYTES / 1e9)} GB; ` +
      'Llama 3.2 1B (intermediate 8192, vocab 128256) would need 4.9 GB and cannot load on WASM at all.',
  };
  const want = (args.get('backends-1b') ?? 'wasm,cpu').split(',') as BackendName[];
  for (const b of backends) {
    if (!want.includes(b)) {
      out[b] = {
        skipped:
          b === 'webgpu'
            ? 'WebGPU here is SwiftShader (a CPU emulation ~100x slower than WASM): a 0.8B forward would take many minutes; pass --backends-1b=webgpu to try'
            : 'not requested',
      };
      continue;
    }
    const err = await useBackend(b);
    if (err) {
      out[b] = { skipped: err };
      continue;
    }
    const t0 = performance.now();
    const lm = new LlamaForCausalLM(cfg, { skipInit: true });
    randomizeWeights(lm, 1);
    const buildSeconds = (performance.now() - t0) / 1000;
    const slow = b === 'cpu';
    await measure(lm, 2, 1, 1); // warm-up
    const r = await measure(lm, slow ? 8 : 16, slow ? 2 : 4, 1);
    lm.dispose();
    out[b] = { ...r, buildSeconds: round(buildSeconds, 1), ...backendFlavour(b) };
    console.log(
      `1B-like ${b}: prefill ${r.prefillTokensPerSecond} tok/s (${r.prefillTokens} tokens), decode ${r.decodeTokensPerSecond} tok/s`,
    );
  }
  results.llama1bShape = out;
}

(results.machine as Record<string, unknown>).loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
// A partial run (--only=...) keeps the other sections of an earlier run.
if (only && existsSync(outFile)) {
  const previous = JSON.parse(readFileSync(outFile, 'utf8')) as Record<string, unknown>;
  for (const key of ['stories260k', 'llama1bShape'])
    if (!(key in results) && key in previous) results[key] = previous[key];
}
await mkdir(dirname(outFile), { recursive: true });
const tmp = `${outFile}.${process.pid}.tmp`;
await writeFile(tmp, `${JSON.stringify(results, null, 2)}\n`);
await rename(tmp, outFile);
console.log(`wrote ${outFile}`);
