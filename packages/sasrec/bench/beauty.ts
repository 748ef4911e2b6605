// Trains SASRec on an authors'-layout dataset (default Beauty; --data <folder>, labelled by its name) and evaluates it on the test split with full ranking,
// next to the authors' own SASRec table read through the same scoring code; profiles a training
// step; writes benchmarks/results/sasrec-beauty.json. Run: pnpm --filter @mmesid/sasrec bench:beauty
//   [--loss bce|sampled-softmax|ce] [--epochs N] [--max-minutes M] [--dropout p] [--eval-every k]
// The budget is epochs with validation patience; --max-minutes is only a guard: a run that hits it
// fails instead of recording a result that depends on the machine's speed.
//   [--valid-users n] [--patience n] [--negatives n] [--shared K] [--batch n] [--lr x] [--run-dir dir] [--fresh] [--out name]
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  countInteractions,
  itemFrequency,
  leaveOneOut,
  loadAuthorsDataset,
  trainingSequences,
} from '@mmesid/datasets';
import { flattenRankingMetrics, type RankingMetrics } from '@mmesid/metrics';
import { initBackend, tf } from '@mmesid/tensor';
import {
  epochBatches,
  evaluateRanking,
  exportItemEmbeddings,
  loadItemEmbeddings,
  popularityScorer,
  SASRec,
  type SasrecLossName,
  sasrecScorer,
  tableScorer,
  trainSasrec,
} from '../src/index.js';
import { profileStep } from './profile-step.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    loss: { type: 'string', default: 'sampled-softmax' },
    epochs: { type: 'string', default: '400' },
    'max-minutes': { type: 'string' },
    dropout: { type: 'string', default: '0.5' },
    'eval-every': { type: 'string', default: '2' },
    'valid-users': { type: 'string', default: '5000' },
    patience: { type: 'string', default: '5' },
    negatives: { type: 'string', default: '32' },
    shared: { type: 'string', default: '0' },
    batch: { type: 'string', default: '256' },
    lr: { type: 'string', default: '2e-3' },
    'run-dir': { type: 'string', default: resolve(here, '../runs/beauty') },
    data: { type: 'string', default: resolve(here, '../../../../shared/datasets/beauty') },
    fresh: { type: 'boolean', default: false },
    /** Default: sasrec-<dataset>, the dataset named after the --data folder. */
    out: { type: 'string' },
  },
});

// The dataset is named after its folder (beauty, toys, ...): labels and the output file say which.
const datasetName = basename(resolve(args.data));
const outName = args.out ?? `sasrec-${datasetName}`;
// The paper's SASRec rows (MME-SID, CIKM'25, Table 3); other datasets are compared with nothing.
const PAPER_ROWS: Record<string, Record<string, number>> = {
  beauty: {
    'HR@5': 0.0368,
    'HR@10': 0.0578,
    'HR@20': 0.0903,
    'NDCG@5': 0.0243,
    'NDCG@10': 0.031,
    'NDCG@20': 0.0392,
  },
  toys: {
    'HR@5': 0.0508,
    'HR@10': 0.0713,
    'HR@20': 0.1022,
    'NDCG@5': 0.0357,
    'NDCG@10': 0.0422,
    'NDCG@20': 0.05,
  },
  sports: {
    'HR@5': 0.0204,
    'HR@10': 0.0327,
    'HR@20': 0.0522,
    'NDCG@5': 0.0132,
    'NDCG@10': 0.0171,
    'NDCG@20': 0.022,
  },
};
const METRIC_KEYS = ['HR@5', 'HR@10', 'HR@20', 'NDCG@5', 'NDCG@10', 'NDCG@20'];
const PAPER: Record<string, number> = PAPER_ROWS[datasetName] ?? {};
const pick = (m: RankingMetrics) => {
  const f = flattenRankingMetrics(m);
  return Object.fromEntries(METRIC_KEYS.map((k) => [k, f[k]!]));
};
const fmt = (row: Record<string, number>) =>
  Object.entries(row)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join('  ');

const wall0 = performance.now();
const load0 = loadavg();
const choice = await initBackend({ require: 'wasm' });
const data = await loadAuthorsDataset(args.data);
const split = leaveOneOut(data);
const training = trainingSequences(data);
let positions = 0;
for (const s of training.sequences) positions += Math.min(s.items.length - 1, 50);
console.log(
  `${datasetName}: ${data.sequences.length} users, ${data.numItems} items, ${countInteractions(data)} interactions; ` +
    `${training.sequences.length} training sequences, ${positions} training positions; test ${split.test.length} users`,
);
console.log(
  `machine: ${cpus().length} cores, load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}`,
);

// 1. Profile one training step (fresh model, a batch of typical width), before training.
const profModel = new SASRec({ numItems: data.numItems, dropout: Number(args.dropout) }, { seed: 1 });
const profLoss = args.loss as SasrecLossName;
const batches = epochBatches(training, {
  batchSize: Number(args.batch),
  maxLen: 50,
  negatives: profLoss === 'ce' || Number(args.shared) > 0 ? 0 : Number(args.negatives),
  sharedNegatives: profLoss === 'sampled-softmax' ? Number(args.shared) : 0,
  seed: 1,
  epoch: 1,
  bucketBatches: 50,
});
const widths = batches.map((b) => b.length).sort((a, b) => a - b);
const typical = batches.find((b) => b.length === widths[Math.floor(widths.length / 2)])!;
const widest = batches.find((b) => b.length === widths[widths.length - 1])!;
const profile = {
  widthsPerEpoch: {
    batches: batches.length,
    median: widths[Math.floor(widths.length / 2)],
    max: widths[widths.length - 1],
  },
  medianBatch: await profileStep(profModel, typical, profLoss),
  widestBatch: await profileStep(profModel, widest, profLoss, 3),
};
profModel.dispose();
for (const [label, p] of [
  ['median-width', profile.medianBatch],
  ['widest', profile.widestBatch],
] as const) {
  console.log(
    `profile (${label} batch: ${p.batch.users} users x ${p.batch.width} columns, ${p.batch.positions} positions):`,
  );
  for (const [k, v] of Object.entries(p.ms)) console.log(`  ${k.padEnd(48)} ${v.toFixed(1)} ms`);
  console.log(
    `  kernels by op: ${p.kernelsByOp
      .slice(0, 8)
      .map((k) => `${k.op} ${k.ms.toFixed(1)}ms/${k.calls}`)
      .join(', ')}`,
  );
}

// 2. Train with validation and early stopping; resumes from run-dir unless --fresh.
const ckpt = resolve(args['run-dir'], 'checkpoint');
if (args.fresh) rmSync(ckpt, { recursive: true, force: true });
const train = {
  seed: 42,
  epochs: Number(args.epochs),
  loss: profLoss,
  negatives: Number(args.negatives),
  sharedNegatives: Number(args.shared),
  batchSize: Number(args.batch),
  lr: Number(args.lr),
  evalEvery: Number(args['eval-every']),
  patience: Number(args.patience),
  ...(args['max-minutes'] ? { maxMinutes: Number(args['max-minutes']) } : {}),
  ...(args['valid-users'] ? { validUsers: Number(args['valid-users']) } : {}),
};
const result = await trainSasrec({
  data,
  model: { dropout: Number(args.dropout) },
  train,
  checkpointDir: ckpt,
});
const model = result.model;
if (result.stoppedBy === 'time')
  throw new Error(
    `the --max-minutes ${args['max-minutes']} guard stopped training after ${result.epochsDone} epochs: nothing recorded (raise or drop it; the budget is --epochs with --patience)`,
  );

// 3. Test: SASRec, then the tables (ours and the authors') through the same ranking code.
const t0 = performance.now();
const test = pick(await evaluateRanking(sasrecScorer(model), split.test));
const testSeconds = (performance.now() - t0) / 1000;
console.log(`SASRec (ours) test: ${fmt(test)}  [${testSeconds.toFixed(1)} s]`);
const exported = await exportItemEmbeddings(model, args['run-dir'], { test, bestEpoch: result.best?.epoch });
const ours = await loadItemEmbeddings(exported.table);
const authors = await loadItemEmbeddings(resolve(args.data, 'sasrec_item_emb.f32'));
const tables: Record<string, Record<string, number>> = {};
for (const [name, t] of [
  ['ours', ours],
  ['authors', authors],
] as const) {
  for (const readout of ['mean', 'last'] as const) {
    const s = tableScorer(t.matrix, readout);
    tables[`${name} table, ${readout} of history`] = pick(await evaluateRanking(s, split.test));
    s.dispose();
  }
}
const pop = popularityScorer(itemFrequency(split.train, data.numItems));
tables['popularity (training-target counts)'] = pick(await evaluateRanking(pop, split.test));
pop.dispose();
for (const [k, v] of Object.entries(tables)) console.log(`${k.padEnd(36)} ${fmt(v)}`);
model.dispose();

const wallSeconds = (performance.now() - wall0) / 1000;
const meets = Object.fromEntries(Object.entries(PAPER).map(([k, v]) => [k, test[k]! >= v]));
const out = {
  name: outName,
  datasetName,
  date: new Date().toISOString(),
  command: `pnpm --filter @mmesid/sasrec bench:beauty ${process.argv.slice(2).join(' ')}`.trim(),
  backend: choice.name,
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    loadAverageStart: load0,
    loadAverageEnd: loadavg(),
  },
  dataset: {
    path: args.data,
    users: data.sequences.length,
    items: data.numItems,
    interactions: countInteractions(data),
    trainingSequences: training.sequences.length,
    trainingPositionsPerEpoch: positions,
    testUsers: split.test.length,
  },
  protocol:
    'leave-one-out (authors split); test = last item, history = all earlier items (SASRec reads the last 50); ' +
    'full ranking over all 12,087 indices incl. padding 0, history items excluded, ties against the target; ' +
    'metrics summed over all users / number of users',
  config: { model: { ...model.config }, train: result.config },
  training: {
    epochs: result.epochsDone,
    stoppedBy: result.stoppedBy,
    bestEpoch: result.best?.epoch ?? null,
    bestValid: result.best?.valid ?? null,
    resumedFrom: result.resumedFrom,
    trainSeconds: result.trainSeconds,
    trainPlusValidSeconds: result.elapsedSeconds,
    examplesPerSecond: result.examplesPerSecond,
    history: result.history,
  },
  test,
  testSeconds,
  paperSasrec: PAPER,
  meetsPaper: meets,
  tables,
  tableReadouts:
    'A bare table is not a SASRec model: "mean" scores items by the dot product with the mean of the ' +
    'history\'s item embeddings, "last" by the dot product with the most recent item\'s embedding.',
  exported,
  profile,
  wallSeconds,
};
const resultsDir = resolve(here, '../../../benchmarks/results');
mkdirSync(resultsDir, { recursive: true });
const target = resolve(resultsDir, `${outName}.json`);
writeFileSync(`${target}.tmp-${process.pid}`, `${JSON.stringify(out, null, 2)}\n`);
renameSync(`${target}.tmp-${process.pid}`, target);
console.log(
  `wall ${(wallSeconds / 60).toFixed(1)} min; meets the paper's row: ${JSON.stringify(meets)}; wrote ${target}`,
);
tf.disposeVariables();
