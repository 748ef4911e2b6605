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
import { AdamW, type BackendName, initBackend, Linear, Module, Rng, silu, Trainer, tf } from '@mmesid/tensor';
import { applyLora, loadAdapter, saveAdapter } from '../src/index.js';

const HIDDEN = Number(process.env.LORA_BENCH_HIDDEN ?? 512);
const INTER = Number(process.env.LORA_BENCH_INTER ?? 1376);
const TOKENS = Number(process.env.LORA_BENCH_TOKENS ?? 128);
const R = 8;

type Fwd = Module & { forward(x: tf.Tensor): tf.Tensor };
const call = (m: Module, name: string, x: tf.Tensor) => (m.childModule(name) as Fwd).forward(x);

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

async function timeIt(
  fn: () => Promise<void>,
  minMs = 400,
  minReps = Number(process.env.LORA_BENCH_REPS ?? 7),
): Promise<number> {
  await fn();
  await fn();
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < minReps || performance.now() - t0 < minMs) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function forwardMs(model: Block, x: tf.Tensor): Promise<number> {
  return timeIt(async () => {
    const y = model.forward(x);
    await y.data();
    y.dispose();
  });
}

async function stepMs(model: Block, x: tf.Tensor, params: Map<string, tf.Variable>): Promise<number> {
  const optimizer = new AdamW(params, { lr: 1e-4 });
  const trainer = new Trainer({ optimizer });
  const ms = await timeIt(async () => {
    await trainer.step(() => tf.mean(tf.square(model.forward(x))) as tf.Scalar);
  });
  trainer.dispose();
  optimizer.dispose();
  return ms;
}

async function benchBackend(name: BackendName) {
  await initBackend({ require: name, log: false, ignoreEnv: true });
  const rng = new Rng(0);
  const x = tf.tensor(rng.fillUniform(new Float32Array(TOKENS * HIDDEN), -1, 1), [1, TOKENS, HIDDEN]);

  const plain = new Block(new Rng(1));
  plain.eval();
  const plainFwd = await forwardMs(plain, x);
  const fullStep = await stepMs(plain, x, plain.trainableParameters());

  const model = new Block(new Rng(1));
  const lora = applyLora(model, {
    r: R,
    alpha: 16,
    dropout: 0.05,
    targetModules: ['gate_proj', 'up_proj', 'down_proj'],
  });
  model.train();
  const loraStep = await stepMs(model, x, lora.trainableParameters());
  model.eval();
  const loraFwd = await forwardMs(model, x);
  const mergeMs = await timeIt(async () => {
    lora.merge();
    lora.unmerge();
    await lora.layers.get('mlp.down_proj')!.base.weight.data();
  });
  lora.merge();
  const mergedFwd = await forwardMs(model, x);
  lora.unmerge();

  const dir = await mkdtemp(join(tmpdir(), 'lora-bench-'));
  const saveMs = await timeIt(() => saveAdapter(lora, join(dir, 'a')));
  const bytes = (await stat(join(dir, 'a', 'adapter_model.safetensors'))).size;
  const loadMs = await timeIt(async () => {
    const fresh = new Block(new Rng(1));
    await loadAdapter(fresh, join(dir, 'a'));
    fresh.dispose();
  });
  await rm(dir, { recursive: true, force: true });

  const summary = lora.summary();
  model.dispose();
  plain.dispose();
  x.dispose();
  return {
    backend: name,
    forwardMs: { plain: plainFwd, loraUnmerged: loraFwd, loraMerged: mergedFwd },
    trainStepMs: { full: fullStep, lora: loraStep },
    mergeUnmergeMs: mergeMs,
    saveAdapterMs: saveMs,
    loadAdapterMs: loadMs,
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
    `  forward ms: plain ${r.forwardMs.plain.toFixed(2)} | LoRA unmerged ${r.forwardMs.loraUnmerged.toFixed(2)} | merged ${r.forwardMs.loraMerged.toFixed(2)}`,
  );
  console.log(
    `  train step ms: full fine-tune ${r.trainStepMs.full.toFixed(2)} | LoRA ${r.trainStepMs.lora.toFixed(2)}`,
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
  `${JSON.stringify({ date: new Date().toISOString(), shape: { hidden: HIDDEN, intermediate: INTER, tokens: TOKENS, r: R }, results, paper }, null, 2)}\n`,
);
await rename(tmp, out);
console.log(`[lora bench] wrote ${out}`);
