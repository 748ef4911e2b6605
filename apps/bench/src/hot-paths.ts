// `pnpm --filter @mmesid/bench hot-paths`: the hot paths issue 18 changed, old way and new way
// timed in the same run on the WASM backend (minimum of 5 runs after a warm-up), into
// benchmarks/results/hot-paths.json. Old ways: tfjs-backend-wasm's own matmul kernels; the
// stop-gradient max in the loss; tf.tile for popularity rows; greaterEqual + cast + sum for the
// evaluator's count.
import { loadavg } from 'node:os';
import { countAtLeast, initBackend, logSumExp, stopGradient, tf } from '@mmesid/tensor';
import { writeResult } from './write-result.js';

const loadStart = loadavg();
await import('@tensorflow/tfjs-backend-wasm');
const tfjsKernels = [tf.getKernel('BatchMatMul', 'wasm')!, tf.getKernel('_FusedMatMul', 'wasm')!];
await initBackend({ require: 'wasm', log: false, ignoreEnv: true });
const ours = [tf.getKernel('BatchMatMul', 'wasm')!, tf.getKernel('_FusedMatMul', 'wasm')!];
const use = (ks: tf.KernelConfig[]) => {
  for (const k of ks) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
    k.setupFunc?.(tf.backend());
  }
};
async function best(f: () => tf.Tensor[], reps = 5): Promise<number> {
  const warm = f();
  for (const t of warm) await t.data();
  tf.dispose(warm);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = f();
    for (const t of out) await t.data();
    tf.dispose(out);
    ts.push(performance.now() - t0);
  }
  return Math.round(Math.min(...ts) * 10) / 10;
}
const rows: { path: string; oldMs: number; newMs: number }[] = [];
const row = (path: string, oldMs: number, newMs: number) => {
  rows.push({ path, oldMs, newMs });
  console.log(`${path}: ${oldMs} ms -> ${newMs} ms`);
};

// RQ-VAE: squaredDistances (transposeB) forward and backward (transposeA in dW).
const x = tf.variable(tf.randomNormal([1024, 64], 0, 1, 'float32', 1));
const e = tf.variable(tf.randomNormal([256, 64], 0, 1, 'float32', 2));
const sqd = () => {
  const { value, grads } = tf.variableGrads(() => {
    const xx = tf.sum(tf.square(x), 1, true);
    const ee = tf.sum(tf.square(e), 1).reshape([1, -1]);
    return tf.sum(tf.relu(tf.sub(tf.add(xx, ee), tf.mul(tf.matMul(x, e, false, true), 2)))) as tf.Scalar;
  }, [x, e]);
  return [value, ...Object.values(grads)];
};
use(tfjsKernels);
const sqdOld = await best(sqd);
use(ours);
row('squared distances [1024,64] x [256,64], forward + backward', sqdOld, await best(sqd));

// Fusion's CE loss over all items.
const s = tf.variable(tf.randomNormal([96, 12088], 0, 1, 'float32', 3));
const t = tf.tensor1d(
  Array.from({ length: 96 }, (_, i) => i * 12088 + 5),
  'int32',
);
const pos = () => tf.gather(tf.reshape(s, [-1]), t);
const oldLoss = () => {
  const { value, grads } = tf.variableGrads(() => {
    const m = stopGradient(tf.max(s, 1, true));
    const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(s, m)), 1)), tf.reshape(m, [-1]));
    return tf.mean(tf.sub(lse, pos())) as tf.Scalar;
  }, [s]);
  return [value, ...Object.values(grads)];
};
const newLoss = () => {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.sub(logSumExp(s, 1), pos())) as tf.Scalar, [s]);
  return [value, ...Object.values(grads)];
};
row('softmax CE over [96, 12088] scores, forward + backward', await best(oldLoss), await best(newLoss));

// Popularity rows and the evaluator's count over a [1024, 12088] batch.
const cols = 12088;
const n = 1024;
const freq = tf.randomUniform([1, cols], 0, 100, 'float32', 4);
const freqHost = (await freq.data()) as Float32Array;
row(
  'popularity scores [1024, 12088]',
  await best(() => [tf.tile(freq, [n, 1])]),
  await best(() => {
    const out = new Float32Array(n * cols);
    for (let b = 0; b < n; b++) out.set(freqHost, b * cols);
    return [tf.tensor2d(out, [n, cols])];
  }),
);
const scores = tf.randomUniform([n, cols], 0, 1, 'float32', 5) as tf.Tensor2D;
const th = tf.randomUniform([n], 0, 1, 'float32', 6) as tf.Tensor1D;
row(
  'count scores >= target score, [1024, 12088]',
  await best(() => [
    tf.tidy(() =>
      tf.sum(
        tf.cast(tf.greaterEqual(scores, tf.matMul(tf.reshape(th, [n, 1]), tf.ones([1, cols]))), 'int32'),
        1,
      ),
    ),
  ]),
  await best(() => [countAtLeast(scores, th)]),
);

const target = writeResult('hot-paths', {
  date: new Date().toISOString(),
  backend: 'wasm',
  note: 'old and new way in the same run on a shared, loaded machine; compare within a row only',
  loadAverage: { start: loadStart, end: loadavg() },
  rows,
});
console.log(`wrote ${target}`);
process.exit(0);
