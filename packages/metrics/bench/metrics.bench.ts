// Benchmarks of @mmesid/metrics, printed and written to benchmarks/results/metrics.json:
// - the full-ranking evaluator at Beauty size (22,332 users x 12,087 scores) on wasm and cpu;
// - singular values of a 12,087 x 4096 table (float64 Gram in JS, and float32 Gram on wasm);
// - Kendall's tau-b on 10^6 pairs, the MMD loss on a 1024 x 64 batch.
// Usage: pnpm --filter @mmesid/metrics bench [--skip-spectrum]
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BackendName, initBackend, Rng, symmetricEigenvalues, tf } from '@mmesid/tensor';
import { sharedRoot } from '@mmesid/test-utils/shared';
import { FullRankingEvaluator, gramMatrix, kendallTauB, mmdLoss, singularValues } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const RESULTS = resolve(here, '../../../benchmarks/results/metrics.json');
const SHARED = sharedRoot();
const skipSpectrum = process.argv.includes('--skip-spectrum');

const USERS = 22_332;
const ITEMS = 12_086; // scores have ITEMS + 1 columns (padding 0 included)
const BATCH = 512;

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Test-split histories: the authors' Beauty sequences when ../shared is here, else synthetic. */
function histories(): { source: string; targets: Int32Array; histories: Int32Array[] } {
  const file = resolve(SHARED, 'datasets/beauty/sequences.txt');
  const targets = new Int32Array(USERS);
  const hist: Int32Array[] = [];
  if (existsSync(file)) {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    lines.forEach((line, u) => {
      const items = Int32Array.from(line.split(' ').slice(1), Number);
      targets[u] = items[items.length - 1]!;
      hist.push(items.subarray(0, items.length - 1));
    });
    return { source: 'Beauty test split (sequences.txt)', targets, histories: hist };
  }
  const rng = new Rng(1);
  for (let u = 0; u < USERS; u++) {
    const n = 4 + rng.int(10);
    const h = new Int32Array(n);
    for (let i = 0; i < n; i++) h[i] = 1 + rng.int(ITEMS);
    targets[u] = 1 + rng.int(ITEMS);
    hist.push(h);
  }
  return { source: 'synthetic (shared data not found)', targets, histories: hist };
}

async function benchEvaluator(backend: BackendName, data: ReturnType<typeof histories>) {
  await initBackend({ require: backend, log: false });
  const ev = new FullRankingEvaluator({ numItems: ITEMS });
  let evalTime = 0;
  const t0 = performance.now();
  for (let b0 = 0; b0 < USERS; b0 += BATCH) {
    const b1 = Math.min(USERS, b0 + BATCH);
    const scores = tf.randomUniform([b1 - b0, ITEMS + 1], 0, 1, 'float32', b0);
    await scores.data(); // make sure the scores exist before timing the evaluator
    const t1 = performance.now();
    await ev.update(scores, data.targets.subarray(b0, b1), data.histories.slice(b0, b1));
    evalTime += seconds(t1);
    scores.dispose();
  }
  const total = seconds(t0);
  const m = ev.compute();
  const out = {
    backend,
    users: ev.users,
    scoreColumns: ITEMS + 1,
    batch: BATCH,
    evaluatorSeconds: evalTime,
    totalSecondsIncludingRandomScores: total,
    usersPerSecond: ev.users / evalTime,
    comparisonsPerSecond: (ev.users * (ITEMS + 1)) / evalTime,
    hr10OfRandomScores: m.hr[10],
    liveTensorsAfter: tf.memory().numTensors,
  };
  console.log(
    `evaluator [${backend}] ${ev.users} users x ${ITEMS + 1}: ${evalTime.toFixed(2)} s in the evaluator ` +
      `(${total.toFixed(2)} s with score generation), ${(out.comparisonsPerSecond / 1e6).toFixed(0)} M comparisons/s; ` +
      `HR@10 of random scores ${m.hr[10]!.toFixed(5)} (expected ~${(10 / ITEMS).toFixed(5)})`,
  );
  return out;
}

async function benchSpectrum() {
  const rows = 12_087;
  const cols = 4096;
  const rng = new Rng(2);
  // A collapsed-looking table: a rank-64 signal plus small full-rank noise.
  const basis = rng.fillNormal(new Float32Array(64 * cols));
  const data = new Float32Array(rows * cols);
  const coef = new Float32Array(64);
  for (let r = 0; r < rows; r++) {
    rng.fillNormal(coef);
    const o = r * cols;
    for (let k = 0; k < 64; k++) {
      const c = coef[k]!;
      const bo = k * cols;
      for (let j = 0; j < cols; j++) data[o + j]! += c * basis[bo + j]!;
    }
    for (let j = 0; j < cols; j++) data[o + j]! += 1e-3 * rng.normal();
  }
  const table = { rows, cols, data };

  let t0 = performance.now();
  const g = gramMatrix(table);
  const gramSeconds = seconds(t0);
  console.log(`spectrum: float64 Gram ${rows} x ${cols} -> ${cols} x ${cols}: ${gramSeconds.toFixed(1)} s`);
  t0 = performance.now();
  const eig = symmetricEigenvalues(g.data, g.n, { inPlace: true });
  const eigSeconds = seconds(t0);
  console.log(`spectrum: eigenvalues of ${cols} x ${cols} (Householder + QL): ${eigSeconds.toFixed(1)} s`);
  const top = Math.sqrt(eig[cols - 1]!);
  const s65 = Math.sqrt(Math.max(0, eig[cols - 65]!));

  await initBackend({ require: 'wasm', log: false });
  t0 = performance.now();
  const s = await singularValues(table, { gram: 'backend' });
  const backendTotal = seconds(t0);
  console.log(`spectrum: singularValues(gram: 'backend') on wasm, total ${backendTotal.toFixed(1)} s`);
  return {
    rows,
    cols,
    float64: { gramSeconds, eigenvaluesSeconds: eigSeconds, totalSeconds: gramSeconds + eigSeconds },
    wasmFloat32Gram: { totalSeconds: backendTotal, gramSeconds: backendTotal - eigSeconds },
    check: {
      sigma1: top,
      sigma65OverSigma1Float64: s65 / top,
      sigma65OverSigma1Float32Gram: s.normalized[64],
      note: 'rank-64 signal + 1e-3 noise: the float32 Gram cannot resolve the noise floor that float64 does',
    },
  };
}

async function benchSmall() {
  const rng = new Rng(3);
  const n = 1_000_000;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.normal();
    y[i] = x[i]! + rng.normal();
  }
  let t0 = performance.now();
  const tau = kendallTauB(x, y);
  const kendallSeconds = seconds(t0);
  console.log(`kendallTauB on ${n} pairs: ${kendallSeconds.toFixed(2)} s (tau ${tau.toFixed(4)})`);

  await initBackend({ require: 'wasm', log: false });
  const a = tf.randomNormal([1024, 64], 0, 1, 'float32', 1);
  const b = tf.randomNormal([1024, 64], 0.1, 1, 'float32', 2);
  const grad = tf.grad((v: tf.Tensor) => mmdLoss(v, b));
  tf.dispose(grad(a));
  t0 = performance.now();
  const reps = 5;
  for (let i = 0; i < reps; i++) {
    const g = grad(a);
    await g.data();
    g.dispose();
  }
  const mmdSeconds = seconds(t0) / reps;
  console.log(`mmdLoss 1024 + 1024 x 64 forward+backward on wasm: ${(mmdSeconds * 1000).toFixed(0)} ms`);
  tf.dispose([a, b]);
  return { kendall1e6Seconds: kendallSeconds, mmdLoss1024x64WasmForwardBackwardMs: mmdSeconds * 1000 };
}

const data = histories();
console.log(`histories: ${data.source}`);
const result: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  histories: data.source,
  evaluator: [await benchEvaluator('wasm', data), await benchEvaluator('cpu', data)],
  small: await benchSmall(),
};
if (!skipSpectrum) result.spectrum12kx4096 = await benchSpectrum();
else result.spectrum12kx4096 = 'skipped (--skip-spectrum)';

mkdirSync(dirname(RESULTS), { recursive: true });
const tmp = `${RESULTS}.tmp-${process.pid}`;
writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
renameSync(tmp, RESULTS);
console.log(`wrote ${RESULTS}`);
