// `pnpm bench`: f32 matmul GFLOP/s at 256/1024/2048 and a Linear layer's forward+backward at
// 64-d and 4096-d, on every backend that starts here, next to numpy on the same machine.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import {
  type BackendName,
  checkBackend,
  initBackend,
  Linear,
  measureMatmul,
  Rng,
  tf,
  timePerCall,
} from '@mmesid/tensor';
import { writeResult } from './write-result.js';

const MATMUL_SIZES = [256, 1024, 2048];
const LINEAR_SHAPES = [
  { name: 'linear-64', rows: 6400, in: 64, out: 64 }, // SASRec-sized: batch 128 x 50 positions
  { name: 'linear-4096', rows: 32, in: 4096, out: 4096 }, // an 8B-Llama-width projection on 32 tokens
];

async function linearFwdBwd(rows: number, inF: number, outF: number, minMs = 500) {
  const lin = new Linear(inF, outF, { rng: new Rng(1) });
  const x = tf.randomUniform([rows, inF], -1, 1, 'float32', 3);
  const ms = await timePerCall(async () => {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(lin.forward(x)) as tf.Scalar,
      [lin.weight, lin.bias!],
    );
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  }, minMs);
  x.dispose();
  lin.dispose();
  // forward x W^T, backward dX = dY W and dW = dY^T X: three products of 2*rows*in*out flops.
  return { rows, in: inF, out: outF, msPerStep: ms, gflops: (3 * 2 * rows * inF * outF) / (ms * 1e6) };
}

function numpyFigures(): Record<string, number> | { error: string } {
  const script = `
import json, time, numpy as np
out = {}
for n in ${JSON.stringify(MATMUL_SIZES)}:
    a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 0.5 or reps < 3:
        a @ b; reps += 1
    out[str(n)] = 2 * n**3 / ((time.perf_counter() - t0) / reps) / 1e9
print(json.dumps(out))`;
  try {
    return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' }));
  } catch (e) {
    return { error: `numpy not available: ${(e as Error).message.split('\n')[0]}` };
  }
}

const candidates: BackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'];
const backends: Record<string, unknown> = {};
const skipped: Record<string, string> = {};
for (const name of candidates) {
  const probe = await checkBackend(name);
  if (!probe.ok) {
    skipped[name] = probe.reason;
    console.log(`skip ${name}: ${probe.reason}`);
    continue;
  }
  await initBackend({ require: name, log: false, ignoreEnv: true });
  const matmul = [];
  const tooSlow: Record<string, string> = {};
  for (const n of MATMUL_SIZES) {
    // Three products (warm-up + 2 timed) at the rate of the previous size: skip what would take minutes.
    const prev = matmul[matmul.length - 1];
    const projected = prev ? (3 * 2 * n ** 3) / (prev.gflops * 1e9) : 0;
    if (projected > 90) {
      tooSlow[`matmul-${n}`] =
        `skipped: about ${projected.toFixed(0)} s at the ${prev!.gflops.toFixed(2)} GFLOP/s measured at ${prev!.n}`;
      console.log(`${name} matmul ${n}: ${tooSlow[`matmul-${n}`]}`);
      continue;
    }
    const m = await measureMatmul(n, 300);
    console.log(`${name} matmul ${n}: ${m.gflops.toFixed(2)} GFLOP/s`);
    matmul.push(m);
  }
  const linear = [];
  for (const s of LINEAR_SHAPES) {
    const l = await linearFwdBwd(s.rows, s.in, s.out);
    console.log(`${name} ${s.name} fwd+bwd: ${l.gflops.toFixed(2)} GFLOP/s (${l.msPerStep.toFixed(1)} ms)`);
    linear.push({ name: s.name, ...l });
  }
  backends[name] = { adapter: probe.adapter ?? null, matmul, linear, skipped: tooSlow };
}

const numpy = numpyFigures();
const ratios: Record<string, Record<string, number>> = {};
if (!('error' in numpy)) {
  for (const [b, fig] of Object.entries(backends) as [
    string,
    { matmul: { n: number; gflops: number }[] },
  ][]) {
    ratios[b] = Object.fromEntries(fig.matmul.map((m) => [String(m.n), m.gflops / numpy[String(m.n)]!]));
  }
  console.log('numpy matmul GFLOP/s:', numpy);
  console.log('tfjs / numpy:', ratios);
}
const target = writeResult('tensor', {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMemGB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
  },
  backends,
  skipped,
  numpy,
  ratioToNumpy: ratios,
  loadAverage: loadavg(),
  target: 'WASM matmul at >= 0.5x numpy on these shapes (issue 2); see ratioToNumpy.wasm',
});
console.log(`wrote ${target}`);
process.exit(0);
