/**
 * LoRA benchmark: cost of the adapter on a Llama-shaped SwiGLU block (forward unmerged vs merged vs
 * plain, a LoRA training step vs a full fine-tuning step, merge/unmerge, PEFT save/load), per backend,
 * plus the parameter counts of the paper's setting (Llama3-8B, r 8 on gate/up/down) from its shapes.
 *
 *   pnpm --filter @mmesid/lora bench                       # cpu and wasm
 *   MMESID_BENCH_BACKENDS=wasm,webgpu pnpm --filter @mmesid/lora bench
 *
 * Writes benchmarks/results/lora.json (temp file, then rename).
 */
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AdamW,
  type BackendName,
  callChild,
  initBackend,
  Linear,
  Module,
  Rng,
  silu,
  Trainer,
  tf,
} from '@mmesid/tensor';
import { applyLora, loadAdapter, saveAdapter } from '../src/index.js';

const HIDDEN = Number(process.env.LORA_BENCH_HIDDEN ?? 512);
const INTER = Number(process.env.LORA_BENCH_INTER ?? 1376);
const TOKENS = Number(process.env.LORA_BENCH_TOKENS ?? 128);
const R = 8;

const call = callChild;

/** Llama's SwiGLU block with HF names, children looked up at call time. */
class Block extends Module {
  constructor(rng: Rng) {
    super();
    const mlp = new Module();
    mlp.setModule('gate_proj', new Linear(HIDDEN, INTER, { bias: false, rng }));
    mlp.setModule('up_proj', new Linear(HIDDEN, INTER, { bias: false, rng }));
    mlp.setModule('down_proj', new Linear(INTER, HIDDEN, { bias: false, rng }));
    this.setModule('mlp', mlp);
  }

  forward(x: tf.Tensor): tf.Tensor {
    const m = this.childModule('mlp')!;
    return tf.tidy(() => call(m, 'down_proj', tf.mul(silu(call(m, 'gate_proj', x)), call(m, 'up_proj', x))));
  }
}

const REPS = Number(process.env.LORA_BENCH_REPS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function once(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/**
 * Times several variants in interleaved rounds (one run of each per round, order rotating) after two
 * warm-up rounds, and returns each variant's median. Interleaving matters on a shared machine: a burst
 * of load from elsewhere then hits every variant alike instead of one of them.
 */
async function compare(
  variants: Record<string, () => Promise<void>>,
  reps = REPS,
): Promise<Record<string, number>> {
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -2; round < reps; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + Math.max(round, 0)) % names.length]!;
      const ms = await once(variants[name]!);
      if (round >= 0) times[name]!.push(ms);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n]!)]));
}

const forward = (model: Block, x: tf.Tensor) => async () => {
  const y = model.forward(x);
  await y.data();
  y.dispose();
};

function stepper(model: Block, x: tf.Tensor, params: Map<string, tf.Variable>) {
  const optimizer = new AdamW(params, { lr: 1e-4 });
  const trainer = new Trainer({ optimizer });
  return {
    run: async () => {
      await trainer.step(() => tf.mean(tf.square(model.forward(x))) as tf.Scalar);
    },
    dispose: () => {
      trainer.dispose();
      optimizer.dispose();
    },
  };
}

const TARGETS = ['gate_proj', 'up_proj', 'down_proj'];

async function benchBackend(name: BackendName) {
  await initBackend({ require: name, log: false, ignoreEnv: true });
  const rng = new Rng(0);
  const x = tf.tensor(rng.fillUniform(new Float32Array(TOKENS * HIDDEN), -1, 1), [1, TOKENS, HIDDEN]);

  const plain = new Block(new Rng(1));
  const unmerged = new Block(new Rng(1));
  const merged = new Block(new Rng(1));
  const lora = applyLora(unmerged, { r: R, alpha: 16, dropout: 0.05, targetModules: TARGETS });
  const loraM = applyLora(merged, { r: R, alpha: 16, dropout: 0.05, targetModules: TARGETS });
  loraM.merge();
  for (const m of [plain, unmerged, merged]) m.eval();
  const fwd = await compare({
    plain: forward(plain, x),
    loraUnmerged: forward(unmerged, x),
    loraMerged: forward(merged, x),
  });
  loraM.unmerge();

  // Training: full fine-tuning of `plain` vs LoRA on `unmerged`, dropout active.
  plain.train();
  unmerged.train();
  const full = stepper(plain, x, plain.trainableParameters());
  const adapted = stepper(unmerged, x, lora.trainableParameters());
  const step = await compare({ full: full.run, lora: adapted.run });
  full.dispose();
  adapted.dispose();

  const dir = await mkdtemp(join(tmpdir(), 'lora-bench-'));
  const target = lora.layers.get('mlp.down_proj')!.base.weight;
  const io = await compare({
    mergeUnmerge: async () => {
      lora.merge();
      lora.unmerge();
      await target.data();
    },
    save: () => saveAdapter(lora, join(dir, 'a')),
    load: async () => {
      const fresh = new Block(new Rng(1));
      await loadAdapter(fresh, join(dir, 'a'));
      fresh.dispose();
    },
  });
  const bytes = (await stat(join(dir, 'a', 'adapter_model.safetensors'))).size;
  await rm(dir, { recursive: true, force: true });

  const summary = lora.summary();
  for (const m of [plain, unmerged, merged]) m.dispose();
  x.dispose();
  return {
    backend: name,
    forwardMs: fwd,
    trainStepMs: step,
    mergeUnmergeMs: io.mergeUnmerge!,
    saveAdapterMs: io.save!,
    loadAdapterMs: io.load!,
    adapterFileBytes: bytes,
    trainable: summary.trainable,
    all: summary.all,
    summary: summary.text,
  };
}

/** LoRA parameter counts for a Llama config from its shapes alone (nothing allocated). */
function llamaCounts(c: {
  hidden: number;
  inter: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  tied: boolean;
}) {
  const head = c.hidden / c.heads;
  const perLayer =
    2 * c.hidden * c.hidden + 2 * c.hidden * c.kvHeads * head + 3 * c.hidden * c.inter + 2 * c.hidden;
  const base = c.layers * perLayer + c.vocab * c.hidden * (c.tied ? 1 : 2) + c.hidden;
  const lora = c.layers * R * 3 * (c.hidden + c.inter);
  const all = base + lora;
  return {
    baseParams: base,
    loraParams: lora,
    trainablePercent: Number(((100 * lora) / all).toFixed(4)),
    adapterBytesF32: lora * 4,
    adapterBytesBF16: lora * 2,
    peftText: `trainable params: ${lora.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${((100 * lora) / all).toFixed(4)}`,
  };
}

const backends = (process.env.MMESID_BENCH_BACKENDS ?? 'cpu,wasm')
  .split(',')
  .map((s) => s.trim()) as BackendName[];
const results = [];
for (const b of backends) {
  console.log(
    `[lora bench] ${b}: SwiGLU block hidden ${HIDDEN}, intermediate ${INTER}, ${TOKENS} tokens, r ${R}`,
  );
  const r = await benchBackend(b);
  console.log(
    `  forward ms: plain ${r.forwardMs.plain!.toFixed(2)} | LoRA unmerged ${r.forwardMs.loraUnmerged!.toFixed(2)} | merged ${r.forwardMs.loraMerged!.toFixed(2)}`,
  );
  console.log(
    `  train step ms: full fine-tune ${r.trainStepMs.full!.toFixed(2)} | LoRA ${r.trainStepMs.lora!.toFixed(2)}`,
  );
  console.log(
    `  merge+unmerge ${r.mergeUnmergeMs.toFixed(2)} ms | save ${r.saveAdapterMs.toFixed(2)} ms | load ${r.loadAdapterMs.toFixed(2)} ms | adapter file ${r.adapterFileBytes} bytes`,
  );
  console.log(`  ${r.summary}`);
  results.push(r);
}
const paper = {
  'llama3-8b': llamaCounts({
    hidden: 4096,
    inter: 14336,
    layers: 32,
    heads: 32,
    kvHeads: 8,
    vocab: 128256,
    tied: false,
  }),
  stories260k: llamaCounts({
    hidden: 64,
    inter: 172,
    layers: 5,
    heads: 8,
    kvHeads: 4,
    vocab: 512,
    tied: false,
  }),
};
console.log(`[lora bench] Llama3-8B, r 8 on gate/up/down: ${paper['llama3-8b'].peftText}`);
console.log(
  `[lora bench] stories260k (with its stored lm_head), r 8 on gate/up/down: ${paper.stories260k.peftText}`,
);

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../../benchmarks/results/lora.json');
await mkdir(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
await writeFile(
  tmp,
  `${JSON.stringify({ date: new Date().toISOString(), shape: { hidden: HIDDEN, intermediate: INTER, tokens: TOKENS, r: R }, reps: REPS, timing: 'median of interleaved rounds after 2 warm-up rounds', results, paper }, null, 2)}\n`,
);
await rename(tmp, out);
console.log(`[lora bench] wrote ${out}`);
