// Every matmul of one MME-SID fine-tuning step on WASM (the fusion bench's Beauty-scale model, as
// step-profile.ts): the BatchMatMul / _FusedMatMul kernel calls grouped by shape and transpose flags,
// with call count and CPU time per group (the kernel is synchronous on WASM), for each route of the
// wasm matmul kernel (XNNPACK only, and the current rule with the SIMD GEMM), alternating steps.
// Prints only; the per-shape GFLOP/s comparison is packages/tensor/bench/matmul-shapes.ts.
// Run: pnpm --filter @mmesid/fusion exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/matmul-census.ts [--micro 16]
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, setWasmMatMulRoute, tf } from '@mmesid/tensor';
import { trainMmeSid } from '../src/index.js';
import { beautyBenchModel, beautySetup, benchTrainOptions } from './beauty-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    micro: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    llama: { type: 'string', default: resolve(here, '../../../../shared/models/stories260k') },
  },
});
await initBackend({ require: 'wasm', log: false });
console.log(
  `[matmul-census] load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
const setup = await beautySetup(args.data);
const model = await beautyBenchModel(setup, args.llama);
const common = benchTrainOptions(Number(args.micro));
await trainMmeSid(model, setup.split.train, { ...common, maxSteps: 1 }, { log: () => {} });

let groups = new Map<string, { n: number; ms: number; flops: number }>();
let recording = false;
for (const name of ['BatchMatMul', '_FusedMatMul']) {
  const k = tf.getKernel(name, 'wasm')!;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: (a) => {
      if (!recording) return k.kernelFunc(a);
      const { a: x, b: y } = a.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA: tA, transposeB: tB } = a.attrs as { transposeA: boolean; transposeB: boolean };
      const t0 = process.cpuUsage();
      const out = k.kernelFunc(a);
      const d = process.cpuUsage(t0);
      const ms = (d.user + d.system) / 1000;
      const K = tA ? x.shape.at(-2)! : x.shape.at(-1)!;
      const o = (out as tf.TensorInfo).shape;
      const flops = 2 * K * o.reduce((p, d) => p * d, 1);
      const key = `${name === '_FusedMatMul' ? 'fused ' : ''}[${x.shape}]${tA ? '^T' : ''} x [${y.shape}]${tB ? '^T' : ''}`;
      const g = groups.get(key) ?? { n: 0, ms: 0, flops };
      g.n++;
      g.ms += ms;
      groups.set(key, g);
      return out;
    },
  });
}
// Per route, the step with the least matmul CPU time (the machine may be shared).
const best = new Map<string, Map<string, { n: number; ms: number; flops: number }>>();
const totals: Record<string, number[]> = { xnnpack: [], auto: [] };
const sum = (m: Map<string, { ms: number }>) => [...m.values()].reduce((s, g) => s + g.ms, 0);
for (let r = 0; r < Number(args.rounds); r++)
  for (const route of ['xnnpack', 'auto'] as const) {
    setWasmMatMulRoute(route);
    groups = new Map();
    recording = true;
    await trainMmeSid(model, setup.split.train, { ...common, maxSteps: 1 }, { log: () => {} });
    recording = false;
    totals[route]!.push(sum(groups));
    if (!best.has(route) || sum(groups) < sum(best.get(route)!)) best.set(route, groups);
  }
setWasmMatMulRoute('auto');
for (const route of ['xnnpack', 'auto']) {
  const rows = [...best.get(route)!.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(
    `[matmul-census] micro ${args.micro}, route ${route}: ${rows.reduce((s, [, g]) => s + g.n, 0)} calls; matmul CPU ms per step ${totals[route]!.map((x) => x.toFixed(1)).join(', ')}; best step:`,
  );
  for (const [k, g] of rows.slice(0, 16))
    console.log(
      `  ${k.padEnd(44)} ${String(g.n).padStart(4)} x ${(g.ms / g.n).toFixed(3).padStart(8)} ms  ${(g.flops / (g.ms / g.n) / 1e6).toFixed(1).padStart(6)} GFLOP/s`,
    );
}
model.dispose();
process.exit(0);
