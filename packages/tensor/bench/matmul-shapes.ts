// GFLOP/s of the WASM backend's matmul kernels on the products that matter for MME-SID: every
// distinct shape of one fine-tuning step at micro-batch 16 that costs > 1 ms (packages/fusion/bench/
// matmul-census.ts lists them), full ranking's score product, and 1024^2 for scale. Each shape runs
// through both kernels of src/ops/wasm-matmul.ts, interleaved per round on the same tensors:
// "xnnpack" (tfjs-backend-wasm's XNNPACK fully-connected after materialised transposes, the path
// before the SIMD GEMM) and "simd" (src/ops/simd/gemm.wat), and "auto" (what the kernel now picks).
// Reports the median of per-call wall times per round (the kernels are synchronous), the best round,
// and the largest difference between the sides' outputs. Writes benchmarks/results/matmul-shapes.json.
// Run: pnpm --filter @mmesid/tensor exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/matmul-shapes.ts [--rounds 5] [--only head]
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng, writeJsonAtomic } from '@mmesid/core';
import { initBackend, setWasmMatMulRoute, tf, type WasmMatMulRoute } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    calls: { type: 'string', default: '9' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
await initBackend({ require: 'wasm', log: false, nativeBlas: false, ignoreEnv: true });
const load0 = loadavg();

interface Shape {
  label: string;
  a: number[];
  b: number[];
  tA?: boolean;
  tB?: boolean;
  /** A fresh right operand every call (a trained weight: XNNPACK repacks it). */
  freshB?: boolean;
}
const I = 12087;
const shapes: Shape[] = [
  { label: 'head forward U E^T, frozen table', a: [89, 64], b: [64, I] },
  { label: 'head forward U T^T, trained table', a: [89, 64], b: [64, I], freshB: true },
  { label: 'head backward dU = dS E', a: [89, I], b: [64, I], tB: true },
  { label: 'head backward dT = U^T dS', a: [89, 64], b: [89, I], tA: true },
  { label: 'full ranking, batch 1024', a: [1024, 64], b: [I + 1, 64], tB: true },
  { label: 'llm attention probs x V (batched)', a: [64, 26, 20], b: [64, 20, 8] },
  { label: 'llm attention Q K^T (batched)', a: [64, 26, 8], b: [64, 20, 8], tB: true },
  { label: 'llm attention grad (batched)', a: [64, 26, 20], b: [64, 26, 8], tA: true },
  { label: 'prefix linear', a: [1, 73, 192], b: [1, 192, 384] },
  { label: 'linear x W^T (208 rows, 172 out)', a: [1, 208, 64], b: [1, 172, 64], tB: true },
  { label: 'linear dx = dy W (208 rows)', a: [1, 208, 172], b: [1, 172, 64] },
  { label: 'linear dW = dy^T x (208 rows)', a: [1, 208, 172], b: [1, 208, 64], tA: true },
  { label: 'linear 208 x 64 x 64', a: [1, 208, 64], b: [1, 64, 64] },
  { label: 'lora down x A^T (208 x 8)', a: [1, 208, 8], b: [1, 172, 8], tB: true },
  { label: 'decode-like 7 rows', a: [1, 7, 64], b: [1, 64, 64] },
  { label: '1024^2', a: [1024, 1024], b: [1024, 1024] },
  { label: '1024^2 transposeB', a: [1024, 1024], b: [1024, 1024], tB: true },
];
const want = args.only ? shapes.filter((s) => s.label.includes(args.only!)) : shapes;
const rng = new Rng(18);
const sides: WasmMatMulRoute[] = ['xnnpack', 'simd', 'auto'];
const rows: Record<string, unknown>[] = [];
const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)]!;

// Warm-up of both kernels (V8 compiles WebAssembly in tiers: the first calls of the GEMM run
// baseline code), so that the first shape measured is not penalised.
{
  const a = tf.randomNormal([89, 64]);
  const b = tf.randomNormal([64, I]);
  for (const side of ['xnnpack', 'simd'] as const) {
    setWasmMatMulRoute(side);
    for (let i = 0; i < 30; i++) tf.matMul(a, b).dispose();
  }
  setWasmMatMulRoute('auto');
  tf.dispose([a, b]);
}
for (const s of want) {
  const size = (d: number[]) => d.reduce((p, x) => p * x, 1);
  const a = tf.tensor(rng.fillNormal(new Float32Array(size(s.a))), s.a);
  const b = tf.tensor(rng.fillNormal(new Float32Array(size(s.b))), s.b);
  const M = s.tA ? s.a.at(-1)! : s.a.at(-2)!;
  const K = s.tA ? s.a.at(-2)! : s.a.at(-1)!;
  const N = s.tB ? s.b.at(-2)! : s.b.at(-1)!;
  const batch = Math.max(size(s.a.slice(0, -2)), size(s.b.slice(0, -2)));
  const flop = 2 * batch * M * N * K;
  const once = () => {
    const bb = s.freshB ? tf.add(b, 0) : b; // a new tensor id: what a weight updated by the optimiser is
    const t0 = performance.now();
    const y = tf.matMul(a, bb, s.tA, s.tB);
    const ms = performance.now() - t0;
    if (bb !== b) bb.dispose();
    return { y, ms };
  };
  const perRound: Record<string, number[]> = Object.fromEntries(sides.map((k) => [k, []]));
  const outs: Record<string, Float32Array> = {};
  const calls = Number(args.calls);
  for (let r = 0; r < Number(args.rounds); r++)
    for (const side of sides) {
      setWasmMatMulRoute(side);
      const w = once(); // warm-up (and the operand of the comparison)
      if (r === 0) outs[side] = w.y.dataSync() as Float32Array;
      w.y.dispose();
      const t: number[] = [];
      for (let c = 0; c < calls; c++) {
        const { y, ms } = once();
        y.dispose();
        t.push(ms);
      }
      perRound[side]!.push(median(t));
    }
  setWasmMatMulRoute('auto');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < outs.xnnpack!.length; i++) {
    diff = Math.max(diff, Math.abs(outs.xnnpack![i]! - outs.simd![i]!));
    scale = Math.max(scale, Math.abs(outs.xnnpack![i]!));
  }
  const identical = outs.xnnpack!.every((v, i) => Object.is(v, outs.simd![i]));
  const best = (k: string) => Math.min(...perRound[k]!);
  const gflops = (ms: number) => Math.round((flop / ms / 1e6) * 10) / 10;
  const row = {
    shape: s.label,
    product: `[${s.a}]${s.tA ? '^T' : ''} x [${s.b}]${s.tB ? '^T' : ''}${s.freshB ? ' (new b each call)' : ''}`,
    mflop: Math.round(flop / 1e4) / 100,
    ms: Object.fromEntries(
      sides.map((k) => [k, { best: +best(k).toFixed(3), rounds: perRound[k]!.map((x) => +x.toFixed(3)) }]),
    ),
    gflops: Object.fromEntries(sides.map((k) => [k, gflops(best(k))])),
    medianRoundSpeedup: +median(perRound.xnnpack!.map((x, i) => x / perRound.simd![i]!)).toFixed(2),
    maxAbsDiff: diff,
    maxAbs: scale,
    bitIdentical: identical,
  };
  console.log(
    `${s.label.padEnd(36)} ${row.product.padEnd(34)} xnnpack ${String(row.gflops.xnnpack).padStart(5)}  simd ${String(row.gflops.simd).padStart(5)}  auto ${String(row.gflops.auto).padStart(5)} GFLOP/s  x${row.medianRoundSpeedup}  ${identical ? 'same bits' : `max diff ${diff.toExponential(2)} of ${scale.toFixed(1)}`}`,
  );
  rows.push(row);
  tf.dispose([a, b]);
}
if (!args.only || args.out) {
  const out = args.out ?? join(here, '../../../benchmarks/results/matmul-shapes.json');
  await writeJsonAtomic(out, {
    bench: 'packages/tensor/bench/matmul-shapes.ts',
    date: new Date().toISOString(),
    backend: 'wasm (tfjs-backend-wasm 4.22, SIMD build, 1 thread)',
    note: 'ms: median of per-call wall times in each round (rounds interleave the sides on the same tensors); GFLOP/s from the best round; medianRoundSpeedup: median over rounds of xnnpack ms / simd ms. xnnpack: XNNPACK fully-connected after materialised transposes (the kernel before the SIMD GEMM); simd: src/ops/simd/gemm.wat; auto: the route the kernel takes now.',
    loadAverage: { start: load0.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
    rows,
  });
  console.log(`wrote ${out}`);
}
process.exit(0);
