// Where the MM-RQ-VAE k-means initialisation and one training step spend their time (speed.ts's
// rqvae rows, issue 18): the encoding and one level's k-means (seeding only, then with 10 Lloyd
// iterations) timed; with --step one training step (batch 1024, Sinkhorn on) timed and profiled
// with tf.profile (kernel count, time per kernel name, the slowest kernels). --native: through the
// optional native BLAS. Prints only.
// Run: cd apps/bench && pnpm exec tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs src/rqvae-profile.ts --step
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEmbedding } from '@mmesid/datasets';
import { kmeans, MMRQVAE } from '@mmesid/rqvae';
import { initBackend, Rng, tf } from '@mmesid/tensor';
import { rqvaeBenchConfig } from './rqvae-config.js';

const here = dirname(fileURLToPath(import.meta.url));
const native = process.argv.includes('--native');
await initBackend({ require: 'wasm', nativeBlas: native, log: true });
console.log(
  `load ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
const table = await loadEmbedding(join(here, '../../../../shared/datasets/beauty/sasrec_item_emb.f32'));
const name = 'collaborative';
const model = new MMRQVAE({
  ...rqvaeBenchConfig(42),
  modalities: [{ name, inputDim: table.cols }],
  reconstruction: 'mmd',
});
let t0 = performance.now();
const z = await model.encodeTensor(name, table);
await z.data();
console.log(`encode ${(performance.now() - t0).toFixed(0)} ms`);
for (const iters of [0, 10]) {
  t0 = performance.now();
  const r = await kmeans(z, { k: 256, rng: new Rng(1), iters });
  console.log(
    `kmeans level-0 iters ${iters}: ${(performance.now() - t0).toFixed(0)} ms, inertia ${r.inertia}, its ${r.iterations}`,
  );
  r.centroids.dispose();
}
// Kernel time per name over one level's k-means (10 Lloyd iterations): what the wall time is made of.
const prof = await tf.profile(async () => {
  const r = await kmeans(z, { k: 256, rng: new Rng(1), iters: 10 });
  r.centroids.dispose();
});
const kByName = new Map<string, { n: number; ms: number }>();
for (const k of prof.kernels) {
  const e = kByName.get(k.name) ?? { n: 0, ms: 0 };
  e.n++;
  e.ms += k.kernelTimeMs as number;
  kByName.set(k.name, e);
}
console.log(`kmeans level-0 kernels ${prof.kernels.length}`);
for (const [k, v] of [...kByName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8))
  console.log(`  ${k} x${v.n}: ${v.ms.toFixed(0)} ms`);
if (process.argv.includes('--step')) {
  const batch = tf.tensor2d(table.data.subarray(0, 1024 * table.cols), [1024, table.cols]);
  const { AdamW, Trainer } = await import('@mmesid/tensor');
  const trainer = new Trainer({
    optimizer: new AdamW(model.trainableParameters(), { lr: 2e-4, weightDecay: 1e-4 }),
  });
  model.train();
  const step = () =>
    trainer.step(() => model.losses({ [name]: batch as tf.Tensor2D }, { sinkhorn: true }).total as tf.Scalar);
  await step();
  t0 = performance.now();
  await step();
  await step();
  console.log(`step ${((performance.now() - t0) / 2).toFixed(0)} ms`);
  const info = await tf.profile(async () => {
    await step();
  });
  const byName = new Map<string, { n: number; ms: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += k.kernelTimeMs as number;
    byName.set(k.name, e);
  }
  console.log(`kernels ${info.kernels.length}`);
  for (const [k, v] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
    console.log(k, v.n, v.ms.toFixed(1));
  const big = [...info.kernels]
    .sort((a, b) => (b.kernelTimeMs as number) - (a.kernelTimeMs as number))
    .slice(0, 25);
  for (const k of big)
    console.log(
      '  ',
      k.name,
      (k.kernelTimeMs as number).toFixed(1),
      JSON.stringify(k.inputShapes),
      JSON.stringify(k.outputShapes),
    );
}
