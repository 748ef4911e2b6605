// MME-SID fine-tuning (efficient mode) in mmesid beside a PyTorch peer doing the same step
// (apps/bench/peers/finetune.py): the fusion bench's Beauty-scale model on stories260k (authors'
// Beauty sequences and SASRec table, seeded stand-ins for the text/visual tables and the semantic
// IDs, as packages/fusion/bench/beauty-setup.ts), minimal prompt, 16 sequences per optimiser step.
// Both sides start from the same weights and consume the same sequences in the same order (those
// trainMmeSid's first steps take). Loss check: micro-batch 0 in eval mode, loss and every gradient.
// Timing: `--rounds` rounds, each running every side once (interleaved), `--steps` optimiser steps
// per run after one warm-up step. Writes benchmarks/results/speed-finetune.json.
// Run: pnpm --filter @mmesid/bench speed:finetune [--steps=3 --rounds=2 --micro=4,16 --threads=1,2 --before=0 --native=1 --head=1 --xnnpack=1]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { groupBySequence, trainMmeSid } from '@mmesid/fusion';
import { beautyBenchModel, beautySetup } from '@mmesid/fusion/bench-setup';
import {
  initBackend,
  installSharedTapeSave,
  LINEAR,
  RMS_NORM,
  Rng,
  ROTARY_HALF,
  registerWasmIdentity,
  SOFTMAX_CROSS_ENTROPY,
  SOFTMAX_CROSS_ENTROPY_GRAD,
  SWIGLU,
  saveSafetensors,
  setWasmMatMulRoute,
  tf,
  uninstallSharedTapeSave,
  unregisterWasmIdentity,
  WEIGHTED_TERM_SUM,
  WEIGHTED_TERM_SUM_GRAD,
} from '@mmesid/tensor';
import { seedLoraB, writePeerModel } from './peer-model.js';
import { writeResult } from './write-result.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Map(
  process.argv.slice(2).flatMap((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    return m ? [[m[1]!, m[2]!] as const] : [];
  }),
);
const STEPS = Number(args.get('steps') ?? 3);
const ROUNDS = Number(args.get('rounds') ?? 3);
const MICROS = (args.get('micro') ?? '4,16').split(',').map(Number);
const THREADS = (args.get('threads') ?? '1,2').split(',').map(Number);
// Also time mmesid with its matmuls on native OpenBLAS (@mmesid/blas-native, the BLAS torch uses here).
const NATIVE = args.get('native') !== '0';
// Also time mmesid without issue 18's fine-tuning speed-ups (tfjs's copying Identity/Cast and cloning
// tape save; composite linear, RMSNorm, RoPE, SwiGLU, score sum and cross-entropy).
const BEFORE = args.get('before') !== '0';
// Also time mmesid with the score sum and cross-entropy as composites (their WebAssembly SIMD
// kernels off, everything else on): an in-process A/B of those kernels.
const HEAD_AB = args.get('head') === '1';
// Also time mmesid with every WASM matmul through XNNPACK (the SIMD GEMM off, everything else on):
// an in-process A/B of @mmesid/tensor's WebAssembly GEMM.
const XNNPACK_AB = args.get('xnnpack') === '1';
const beautyDir =
  args.get('beauty') ?? process.env.BEAUTY_DIR ?? join(here, '../../../../shared/datasets/beauty');
const llamaDir = args.get('llama') ?? join(here, '../../../../shared/models/stories260k');
const python = args.get('python') ?? process.env.MMESID_PEER_PYTHON ?? '/usr/bin/python3';
const SEED = 1;
const EFFECTIVE = 16;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const loadStart = loadavg();

const backend = await initBackend({ require: 'wasm', log: false, nativeBlas: false, ignoreEnv: true });
const nativeChoice = NATIVE
  ? (await initBackend({ require: 'wasm', log: false, nativeBlas: true, ignoreEnv: true })).nativeBlas
  : undefined;
const nativeOk = !!nativeChoice && !nativeChoice.startsWith('not used');
if (NATIVE) await initBackend({ require: 'wasm', log: false, nativeBlas: false, ignoreEnv: true });

// The fusion bench's inputs and model (packages/fusion/bench/beauty-setup.ts, same seeds).
const setup = await beautySetup(beautyDir);
const { split } = setup;
const model = await beautyBenchModel(setup, llamaDir);
seedLoraB(model, 'speed-finetune:lora_B');

const train = {
  mode: 'efficient',
  epochs: 1,
  effectiveBatch: EFFECTIVE,
  warmupSteps: 10,
  logEvery: 1000,
  seed: SEED,
} as const;
// The sequences trainMmeSid's first optimiser steps read: its units in its epoch-0 order.
const units = groupBySequence(split.train);
const order = new Rng(`order:${SEED}:0`).shuffle(Array.from(units.keys()));
const sequences = order.slice(0, (STEPS + 1) * EFFECTIVE).map((i) => {
  const u = units[i]!;
  return { items: Array.from(u.items), prefixLengths: u.prefixLengths, targets: u.targets };
});
const microPerEpoch = Math.ceil(units.length / 4);
const totalSteps = Math.ceil(microPerEpoch / (EFFECTIVE / 4));

// Loss check: micro-batch 0 (4 sequences), eval mode, loss and gradients of every trainable tensor.
const CHECK_MICRO = 4;
model.eval();
const checkBatch = sequences.slice(0, CHECK_MICRO);
const vars = [...model.trainableParameters().values()] as tf.Variable[];
const names = [...model.trainableParameters().keys()];
const lossFn = () =>
  model.lossFromScores(
    model.scoreRepresentations(model.prefixRepresentations(checkBatch)),
    checkBatch.flatMap((q) => q.targets),
  );
const { value, grads } = tf.variableGrads(lossFn, vars);
const mmesidLoss = (await value.data())[0]!;
const gradMap: Record<string, tf.Tensor> = {};
for (const [i, v] of vars.entries()) gradMap[names[i]!] = grads[v.name]!;

const dir = mkdtempSync(join(tmpdir(), 'mmesid-speed-finetune-'));
await saveSafetensors(join(dir, 'grads.safetensors'), gradMap, { metadata: { format: 'pt' } });
tf.dispose([value, ...Object.values(grads)]);
const meta = {
  model: await writePeerModel(dir, model),
  trainable: names,
  prefix: [...model.prompt.prefix],
  sequences,
  checkMicro: CHECK_MICRO,
  mmesidLoss,
  train: {
    effectiveBatch: EFFECTIVE,
    lr: 3e-4,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay: 0,
    clipNorm: 1,
    warmupSteps: train.warmupSteps,
    totalSteps,
  },
};
writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));

const peer = (argv: string[]): Record<string, unknown> => {
  try {
    const out = execFileSync(python, [join(here, '..', 'peers', 'finetune.py'), ...argv], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    return { skipped: `finetune.py failed: ${(e as Error).message.split('\n').slice(0, 5).join(' ')}` };
  }
};

const check = peer(['check', dir]);
const torchLoss = check.loss as number | undefined;
const worst = check.gradWorst as { name: string; relToMax: number } | undefined;
const lossRel = torchLoss === undefined ? null : Math.abs(torchLoss - mmesidLoss) / Math.abs(mmesidLoss);
const agree = lossRel !== null && lossRel <= 1e-5 && worst !== undefined && worst.relToMax <= 1e-3;
console.log(
  `[speed-finetune] loss check (micro-batch 0, eval): mmesid ${mmesidLoss} torch ${torchLoss} (rel ${lossRel?.toExponential(2)}); worst gradient ${worst?.name} rel-to-max ${worst?.relToMax.toExponential(2)}: ${agree ? 'agree' : 'DIFFER'}`,
);

/** Switches issue 18's speed-ups on or off (the ops fall back to their composites without their kernels). */
const fusedKernels = [
  LINEAR,
  RMS_NORM,
  ROTARY_HALF,
  SWIGLU,
  WEIGHTED_TERM_SUM,
  WEIGHTED_TERM_SUM_GRAD,
  SOFTMAX_CROSS_ENTROPY,
  SOFTMAX_CROSS_ENTROPY_GRAD,
].map((k) => tf.getKernel(k, 'wasm')!);
const headKernels = [
  WEIGHTED_TERM_SUM,
  WEIGHTED_TERM_SUM_GRAD,
  SOFTMAX_CROSS_ENTROPY,
  SOFTMAX_CROSS_ENTROPY_GRAD,
];
function speedUps(on: boolean): void {
  if (on) {
    registerWasmIdentity();
    installSharedTapeSave();
    for (const k of fusedKernels) if (!tf.getKernel(k.kernelName, 'wasm')) tf.registerKernel(k);
  } else {
    unregisterWasmIdentity();
    uninstallSharedTapeSave();
    for (const k of fusedKernels)
      if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
  }
}

// Timing, interleaved: each round runs every side once.
type Timing = {
  pairsPerSecond: number;
  seconds: number;
  pairs: number;
  cpuSeconds: number;
  pairsPerCpuSecond: number;
};
type Side = { label: string; run: () => Promise<Timing> };
const sides: Side[] = [];
for (const [micro, variant] of [
  ...(BEFORE ? MICROS.map((m) => [m, 'before'] as const) : []),
  ...(HEAD_AB ? MICROS.map((m) => [m, 'composite head'] as const) : []),
  ...(XNNPACK_AB ? MICROS.map((m) => [m, 'xnnpack'] as const) : []),
  ...MICROS.map((m) => [m, ''] as const),
  ...(nativeOk ? MICROS.map((m) => [m, 'native'] as const) : []),
])
  sides.push({
    label: `mmesid micro ${micro}${variant ? ` ${variant}` : ''}`,
    run: async () => {
      speedUps(variant !== 'before');
      if (variant === 'composite head')
        for (const k of headKernels) if (tf.getKernel(k, 'wasm')) tf.unregisterKernel(k, 'wasm');
      if (variant === 'native')
        await initBackend({ require: 'wasm', log: false, nativeBlas: true, ignoreEnv: true });
      // "before" predates the SIMD GEMM too.
      setWasmMatMulRoute(variant === 'xnnpack' || variant === 'before' ? 'xnnpack' : 'auto');
      const cfg = { ...train, microBatch: micro };
      await trainMmeSid(model, split.train, { ...cfg, maxSteps: 1 }, { log: () => {} });
      const c0 = process.cpuUsage();
      const r = await trainMmeSid(model, split.train, { ...cfg, maxSteps: STEPS }, { log: () => {} });
      const c = process.cpuUsage(c0);
      if (variant === 'native')
        await initBackend({ require: 'wasm', log: false, nativeBlas: false, ignoreEnv: true });
      setWasmMatMulRoute('auto');
      const cpuSeconds = (c.user + c.system) / 1e6;
      return {
        pairsPerSecond: r.examplesSeen / r.seconds,
        seconds: r.seconds,
        pairs: r.examplesSeen,
        cpuSeconds,
        pairsPerCpuSecond: r.examplesSeen / cpuSeconds,
      };
    },
  });
for (const threads of THREADS)
  for (const micro of MICROS)
    sides.push({
      label: `torch ${threads} thread${threads > 1 ? 's' : ''} micro ${micro}`,
      run: async () => {
        const r = peer(['time', dir, String(threads), String(STEPS), String(micro)]);
        if (r.skipped) throw new Error(String(r.skipped));
        return {
          pairsPerSecond: r.pairsPerSecond as number,
          seconds: r.seconds as number,
          pairs: r.pairs as number,
          cpuSeconds: r.cpuSeconds as number,
          pairsPerCpuSecond: r.pairsPerCpuSecond as number,
        };
      },
    });
const runs: Record<string, (Timing & { load1: number })[]> = {};
for (let r = 0; r < ROUNDS; r++)
  for (const s of sides) {
    const res = await s.run();
    runs[s.label] = [...(runs[s.label] ?? []), { ...res, load1: round(loadavg()[0]!, 2) }];
    console.log(
      `[speed-finetune] round ${r + 1} ${s.label}: ${res.pairs} pairs in ${res.seconds.toFixed(2)} s = ${res.pairsPerSecond.toFixed(1)} pairs/s, ${res.pairsPerCpuSecond.toFixed(1)} pairs per CPU second (load ${loadavg()[0]!.toFixed(2)})`,
    );
  }
rmSync(dir, { recursive: true, force: true });
model.dispose();

/** The best round of each side by a metric, each torch side's ratio to mmesid (same micro-batch, and mmesid's best), and mmesid's speed-up over "before". */
function summary(metric: 'pairsPerSecond' | 'pairsPerCpuSecond') {
  const best = Object.fromEntries(
    Object.entries(runs).map(([k, v]) => [k, Math.max(...v.map((x) => x[metric]))]),
  );
  const mmesidBest = Math.max(
    ...Object.entries(best)
      .filter(([k]) => k.startsWith('mmesid'))
      .map(([, v]) => v),
  );
  const ratios: Record<string, number> = {};
  for (const [k, v] of Object.entries(best)) {
    const m = /^torch .* micro (\d+)$/.exec(k);
    if (!m) continue;
    const same = best[`mmesid micro ${m[1]}`];
    if (same) ratios[`${k} / mmesid micro ${m[1]}`] = round(v / same, 2);
    const native = best[`mmesid micro ${m[1]} native`];
    if (native) ratios[`${k} / mmesid micro ${m[1]} native`] = round(v / native, 2);
    ratios[`${k} / mmesid fastest`] = round(v / mmesidBest, 2);
  }
  const first = best[`mmesid micro ${MICROS[0]} before`];
  const speedUp: Record<string, number> = {};
  if (first)
    for (const m of MICROS) {
      speedUp[`mmesid micro ${m} / micro ${m} before`] = round(
        best[`mmesid micro ${m}`]! / best[`mmesid micro ${m} before`]!,
        2,
      );
      speedUp[`mmesid micro ${m} / micro ${MICROS[0]} before`] = round(best[`mmesid micro ${m}`]! / first, 2);
    }
  // Each round's torch rate over the same round's mmesid rate (the sides of a round ran minutes
  // apart at most, so they share the machine's load more than best-against-best does).
  const sameRound: Record<string, { perRound: number[]; median: number }> = {};
  for (const k of Object.keys(runs)) {
    const m = /^torch .* micro (\d+)$/.exec(k);
    if (!m) continue;
    for (const side of [
      `mmesid micro ${m[1]}`,
      `mmesid micro ${m[1]} xnnpack`,
      `mmesid micro ${m[1]} native`,
    ]) {
      if (!runs[side]) continue;
      const perRound = runs[k]!.map((t, i) => round(t[metric] / runs[side]![i]![metric], 2));
      const sorted = [...perRound].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid]! : round((sorted[mid - 1]! + sorted[mid]!) / 2, 2);
      sameRound[`${k} / ${side}`] = { perRound, median };
    }
  }
  return {
    best: Object.fromEntries(Object.entries(best).map(([k, v]) => [k, round(v, 2)])),
    ratios,
    sameRoundRatios: sameRound,
    speedUp,
  };
}
const wall = summary('pairsPerSecond');
const cpu = summary('pairsPerCpuSecond');
const out = {
  name: 'speed-finetune',
  command: `pnpm --filter @mmesid/bench speed:finetune ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
  note: 'Shared machine: compare sides within this run only. Each round runs every side once (interleaved); best is the fastest round. A ratio above 1 means torch is faster. "before": mmesid without the sharing WASM Identity, the kernel-free tape save and the one-kernel linear/RMSNorm/RoPE/SwiGLU/score sum/cross-entropy (tfjs\'s copying Identity and Cast, cloning save, composite ops). "composite head" (--head=1): only the score sum and cross-entropy kernels off. "xnnpack" (--xnnpack=1): every WASM matmul through XNNPACK, the SIMD GEMM off (before also). sameRoundRatios: torch / mmesid per round and their median.',
  loadAverage: { start: loadStart.map((x) => round(x, 2)), end: loadavg().map((x) => round(x, 2)) },
  workload: {
    model:
      'MME-SID (fusion defaults), stories260k (d 64, 5 layers, 8 heads / 4 KV heads), Beauty (12,086 items, authors sequences and SASRec table; text/visual tables and SIDs are seeded stand-ins, values do not change the cost)',
    mode: 'efficient (one forward per user sequence, shared prompt prefix run once), minimal prompt',
    optimizerSteps: STEPS,
    sequencesPerStep: EFFECTIVE,
    warmup: 'one untimed optimiser step before each timed run (both sides)',
    note: 'LoRA B set to seeded N(0, 0.02^2) values before the run so the adapters take part in the checked forward; MME-SID has alignment weight 0 (no InfoNCE term on either side)',
  },
  mmesid: {
    backend: backend.name,
    nativeBlas: `"native" sides only: ${nativeChoice ?? 'not asked (--native=0)'}`,
    trainer:
      'trainMmeSid (AdamW lr 3e-4, warm-up 10 + cosine, clip 1, gradient accumulation to 16 sequences)',
  },
  torch: {
    python,
    version: check.torch ?? null,
    blas: check.blas ?? null,
    skipped: check.skipped ?? null,
    trainer: 'torch.optim.AdamW, clip_grad_norm_ 1, the same schedule and accumulation',
  },
  lossCheck: {
    what: 'micro-batch 0 (4 sequences) in eval mode from the same weights: CE loss and the gradient of every trainable tensor',
    mmesid: mmesidLoss,
    torch: torchLoss ?? null,
    relativeDifference: lossRel,
    worstGradient: worst ?? null,
    gradTensors: check.gradTensors ?? null,
    agree,
    tolerance: 'loss rel 1e-5, gradients max |diff| <= 1e-3 of the tensor max',
  },
  runs,
  wallClock: wall,
  cpuTime: {
    note: 'pairs per CPU second of the process (user + system; torch: time.process_time), less sensitive than wall time to the other processes on the machine',
    ...cpu,
  },
};
console.log(`[speed-finetune] wall clock: ${JSON.stringify(wall)}`);
console.log(`[speed-finetune] CPU time: ${JSON.stringify(cpu)}`);
if (args.get('write') !== '0') console.log(`wrote ${writeResult('speed-finetune', out)}`);
process.exit(0);
