// MOTOR training cost on the authors' Amazon Beauty (12,086 items, 22,363 users): where one training
// step's time goes (tf.profile, kernels summed by name) and the wall time of one epoch (batch 128,
// maxLen 50, d 64, BCE with one negative, AdamW) for
//   old:       the whole [N + 1, d] SID-sum table built every batch, plain shuffled batches
//              (bucketBatches 0), as trainMotor did before;
//   batch:     only the rows of the items the batch names (MotorModel.itemRows), plain batches;
//   batch+b50: the same with bucketBatches 50 (length-bucketed batches, trainSasrec's default),
//              trainMotor's default now.
// Semantic IDs: text and visual, L 4 x K 256 each (the study's shape), seeded random codes: the cost
// depends on the shapes, not on the values. Settings run one after another, one epoch each, on fresh
// models with the same seed; the 1-minute load is recorded at each start.
// Writes benchmarks/results/motor-epoch.json (or --out).
// Run: MMESID_NATIVE_BLAS=1 OPENBLAS_NUM_THREADS=1 pnpm --filter @mmesid/generative exec tsx
//   --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs bench/motor-epoch.bench.ts
//   [-- --backend wasm --settings old,batch,batch+b50 --profile-steps 3]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAuthorsDataset, trainingSequences } from '@mmesid/datasets';
import { epochBatches } from '@mmesid/sasrec';
import { AdamW, type BackendName, initBackend, Rng, Trainer, tf } from '@mmesid/tensor';
import { MotorModel, type SidSegmentCodes, trainMotor } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    backend: { type: 'string', default: 'wasm' },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    settings: { type: 'string', default: 'old,batch,batch+b50' },
    'profile-steps': { type: 'string', default: '3' },
    out: { type: 'string', default: 'benchmarks/results/motor-epoch.json' },
  },
});

const SETTINGS = {
  old: { table: 'full', bucketBatches: 0 },
  batch: { table: 'batch', bucketBatches: 0 },
  'full+b50': { table: 'full', bucketBatches: 50 },
  'batch+b50': { table: 'batch', bucketBatches: 50 },
} as const;
type SettingName = keyof typeof SETTINGS;
const names = args.settings.split(',') as SettingName[];
for (const n of names)
  if (!(n in SETTINGS))
    throw new Error(`--settings: unknown "${n}"; known: ${Object.keys(SETTINGS).join(', ')}`);

const backend = await initBackend({ require: args.backend as BackendName, log: false });
const dataset = await loadAuthorsDataset(args.data);
const N = dataset.numItems;
const training = trainingSequences(dataset);
const L = 4;
const K = 256;
const codes = (seed: string): SidSegmentCodes => {
  const rng = new Rng(seed);
  const ids = new Int32Array((N + 1) * L);
  for (let i = L; i < ids.length; i++) ids[i] = rng.int(K);
  return { ids, levels: L, codebookSize: K };
};

/** Epoch 0's batches as `trainMotor` builds them (batch 128, maxLen 50, one negative, seed 1). */
const benchBatches = (bucketBatches: number) =>
  epochBatches(training, { batchSize: 128, maxLen: 50, negatives: 1, seed: 1, epoch: 0, bucketBatches });
const segments = { text: codes('motor-bench/text'), visual: codes('motor-bench/visual') };
const model = () =>
  new MotorModel({ sasrec: { numItems: N, hiddenUnits: 64, maxLen: 50 }, segments, seed: 1 });

// Profile: the first `profile-steps` batches of epoch 0 (after one warm-up step), per setting.
const profiles: Record<string, unknown> = {};
const steps = Number(args['profile-steps']);
for (const name of names) {
  const s = SETTINGS[name];
  const m = model();
  m.train();
  const opt = new AdamW(m.trainableParameters(), { lr: 1e-3, weightDecay: 0 });
  const trainer = new Trainer({ optimizer: opt });
  const batches = benchBatches(s.bucketBatches);
  await trainer.step(() => m.loss(batches[0]!, 'bce', { table: s.table }));
  const byKernel = new Map<string, number>();
  let wall = 0;
  let cells = 0;
  for (const b of batches.slice(1, 1 + steps)) {
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await trainer.step(() => m.loss(b, 'bce', { table: s.table }));
    });
    wall += performance.now() - t0;
    cells += b.size * b.length;
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
    }
  }
  const top = [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const kernelTotal = [...byKernel.values()].reduce((a, b) => a + b, 0);
  profiles[name] = {
    steps,
    msPerStep: Number((wall / steps).toFixed(1)),
    kernelMsPerStep: Number((kernelTotal / steps).toFixed(1)),
    cellsPerStep: Math.round(cells / steps),
    topKernelsMsPerStep: Object.fromEntries(top.map(([k, v]) => [k, Number((v / steps).toFixed(1))])),
  };
  console.log(name, JSON.stringify(profiles[name]));
  trainer.dispose();
  opt.dispose();
  m.dispose();
}

// One epoch per setting.
const epochs: Record<string, unknown> = {};
for (const name of names) {
  const s = SETTINGS[name];
  const m = model();
  const load = loadavg()[0]!;
  const t0 = performance.now();
  const [loss] = await trainMotor(m, training, { epochs: 1, batchSize: 128, lr: 1e-3, seed: 1, ...s });
  const seconds = (performance.now() - t0) / 1000;
  m.dispose();
  const batches = benchBatches(s.bucketBatches);
  epochs[name] = {
    ...s,
    seconds: Number(seconds.toFixed(1)),
    batches: batches.length,
    cells: batches.reduce((n, b) => n + b.size * b.length, 0),
    loss: Number(loss!.toFixed(4)),
    loadavg1AtStart: Number(load.toFixed(2)),
  };
  console.log(name, JSON.stringify(epochs[name]));
}

const out = resolve(here, '../../..', args.out);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  `${out}.tmp`,
  `${JSON.stringify(
    {
      benchmark: 'MOTOR training: one step profiled, one epoch timed, full SID-sum table vs batch rows',
      dataset: `${args.data.split('/').pop()} (${N} items, ${training.sequences.length} training users)`,
      backend,
      nativeBlas: process.env.MMESID_NATIVE_BLAS === '1',
      cpus: cpus().length,
      model:
        'MotorModel: SASRec d 64, maxLen 50, 2 blocks; text + visual SIDs, L 4, K 256 (seeded random codes)',
      train: 'batch 128, BCE with 1 negative, AdamW lr 1e-3, seed 1, epoch 0',
      profile: profiles,
      epoch: epochs,
      loadavgAtEnd: loadavg(),
      date: new Date().toISOString(),
      note: 'settings run one after another (not interleaved); compare with the 1-minute load at each start. kernelMsPerStep is tf.profile kernel time (wasm: synchronous kernels); msPerStep includes the profiler overhead',
    },
    null,
    2,
  )}\n`,
);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
