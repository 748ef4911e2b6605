// `pnpm --filter @mmesid/reproduce bench:generative -- --dataset beauty`: the semantic-ID-only
// baselines (TIGER-MM, LETTER, MOTOR) on a real dataset with a stated budget, without the rest of
// the pipeline, so they fit a CPU: collaborative = the authors' SASRec table shipped with the data
// (no SASRec training), text = TF-IDF + SVD of the titles (64-d, the tiny preset's), no visual
// modality (no images on this machine). Each variant goes through the pipeline's own stage code
// (src/stages/generative.ts) with the tiny --bench preset's RQ-VAE sizes, and the options below
// cut the training pairs, the test users (a fixed seeded sample) and the epochs.
// Writes benchmarks/results/generative-baselines-<dataset>.json (temp file + rename).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Dataset, leaveOneOut, loadAuthorsDataset, loadEmbedding, type Matrix } from '@mmesid/datasets';
import { encodeItems, itemsFromMeta, TfidfSvdTextEncoder } from '@mmesid/llm2clip';
import { initBackend, tf } from '@mmesid/tensor';
import { writeFileAtomic } from '../cache.js';
import { collaborativeTableLabel, REPO_ROOT, SHARED_DATASETS, SHARED_DIR } from '../options.js';
import { preset } from '../presets.js';
import type { VariantResult } from '../report/report.js';
import {
  EVAL_SAMPLE_SEED,
  GENERATIVE_VARIANTS,
  type GenerativeVariant,
  generativeStageConfig,
  isGenerativeVariant,
  runGenerative,
} from '../stages/generative.js';

const HELP = `bench:generative [options]

  --dataset beauty|toys    (default beauty)
  --variants a,b,...       default TIGER-MM,LETTER,MOTOR (${GENERATIVE_VARIANTS.filter((v) => v !== 'TIGER-MM-joint').join(', ')})
  --train-pairs n          training pairs of the generators (a seeded sample; default 2000)
  --users n                test users evaluated (a fixed seeded sample; default 200)
  --rqvae-epochs n         epochs of each per-modality RQ-VAE (default 12, the --bench preset's)
  --letter-epochs n        LETTER tokenizer epochs (default 5)
  --motor-epochs n         MOTOR (SASRec) epochs (default 10)
  --seed n                 (default 1)
  --backend wasm|cpu       (default wasm)
  --out file.json          where the JSON goes (default benchmarks/results/generative-baselines-<dataset>.json)
`;

async function textTable(dataset: Dataset, dir: string): Promise<Matrix> {
  const items = itemsFromMeta(dataset.items);
  const encoder = TfidfSvdTextEncoder.fit(
    items.map((it) => it.title ?? ''),
    { dim: 64, seed: 0 },
  );
  const res = await encodeItems(items, encoder, {
    cacheFile: join(dir, 'text.safetensors'),
    rows: dataset.numItems + 1,
    batchSize: 512,
  });
  return { rows: res.table.rows, cols: res.table.dim, data: res.table.data };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      dataset: { type: 'string', default: 'beauty' },
      variants: { type: 'string', default: 'TIGER-MM,LETTER,MOTOR' },
      'train-pairs': { type: 'string', default: '2000' },
      users: { type: 'string', default: '200' },
      'rqvae-epochs': { type: 'string', default: '12' },
      'letter-epochs': { type: 'string', default: '5' },
      'motor-epochs': { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const name = values.dataset;
  const rel = SHARED_DATASETS[name];
  if (!rel) throw new Error(`--dataset ${name}: one of ${Object.keys(SHARED_DATASETS).join(', ')}`);
  const variants = values.variants.split(',').filter(Boolean);
  for (const v of variants)
    if (!isGenerativeVariant(v) || v === 'TIGER-MM-joint')
      throw new Error(`--variants: "${v}" is not one of TIGER-MM, LETTER, MOTOR`);
  const num = (k: keyof typeof values) => {
    const n = Number(values[k]);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${k} ${values[k]}: a positive integer`);
    return n;
  };
  const seed = Number(values.seed);
  await initBackend({ require: values.backend as 'wasm' | 'cpu', log: false });
  const t0 = performance.now();
  const loadStart = loadavg();
  const dataDir = resolve(SHARED_DIR, rel);
  const dataset = await loadAuthorsDataset(dataDir, { name });
  const work = mkdtempSync(join(tmpdir(), `generative-baselines-${name}-`));
  const log = (msg: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}`);
  try {
    const tables: Record<string, Matrix> = {
      collaborative: await loadEmbedding(resolve(dataDir, 'sasrec_item_emb.f32')),
      text: await textTable(dataset, work),
    };
    const llamaDir = resolve(SHARED_DIR, 'models/stories260k');
    const rq = preset('tiny', { bench: true, seed, dataset: name, d: 64 }).rqvae;
    const stageOpts = { seed, llama: llamaDir, bench: true, paper: false };
    const letterLr = generativeStageConfig('LETTER', { ...stageOpts, rqvae: rq }).letterLr;
    const rows: (VariantResult & { wallSeconds: number; loadavg1: number[] })[] = [];
    const write = (done: boolean) => {
      const testUsers = leaveOneOut(dataset).test.length;
      const out = {
        what: `the semantic-ID-only baselines of MME-SID's Table 3 on ${name}, small stated budgets on a 2-core CPU (not the paper's protocol)`,
        date: new Date().toISOString(),
        command: `bench:generative ${process.argv.slice(2).join(' ')}`,
        machine: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model,
          loadavgAtStart: loadStart,
          loadavgAtEnd: loadavg(),
        },
        backend: tf.getBackend(),
        dataset: { name, users: dataset.sequences.length, items: dataset.numItems, testUsers },
        evaluation: {
          users: Math.min(num('users'), testUsers),
          of: testUsers,
          chosen: `a fixed seeded sample: Rng("${EVAL_SAMPLE_SEED}") shuffle of the leave-one-out test users, first ${num('users')}, kept in their original order (apps/reproduce/src/stages/generative.ts evalUsers); the same users for every variant`,
          protocol:
            "NOT the paper's protocol (the paper ranks every test user): metrics of a sample, with its sampling error; beam-search metrics exact only up to @20",
        },
        inputs: {
          collaborative: `${collaborativeTableLabel(name)} (sasrec_item_emb.f32), not trained here`,
          text: 'TF-IDF + SVD of the item titles, 64-d (the tiny preset), seed 0',
          visual: 'absent (no item images on this machine)',
          llm: 'stories260k (d 64), LoRA r 8 on gate/up/down_proj + new SID tokens',
        },
        budget: {
          trainPairs: num('train-pairs'),
          generatorEpochs: 1,
          batchSize: 16,
          rqvaeEpochsPerModality: num('rqvae-epochs'),
          letterEpochs: num('letter-epochs'),
          letterLr,
          motorEpochs: num('motor-epochs'),
          beamWidth: 20,
          seed,
        },
        wallSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        finished: done,
        results: rows,
      };
      const file = values.out
        ? resolve(values.out)
        : resolve(REPO_ROOT, 'benchmarks/results', `generative-baselines-${name}.json`);
      writeFileAtomic(file, `${JSON.stringify(out, null, 2)}\n`);
      log(`wrote ${file}${done ? '' : ' (partial)'}`);
    };
    for (const variant of variants as GenerativeVariant[]) {
      const cfg = {
        ...generativeStageConfig(variant, {
          ...stageOpts,
          rqvae: { ...rq, maxEpochs: num('rqvae-epochs') },
        }),
        maxTrainExamples: num('train-pairs'),
        maxEvalUsers: num('users'),
        letterEpochs: num('letter-epochs'),
        motorEpochs: num('motor-epochs'),
      };
      const vStart = performance.now();
      const l0 = loadavg()[0]!;
      const dir = join(work, variant);
      mkdirSync(dir, { recursive: true });
      const r = await runGenerative({ workDir: dir, log: (m) => log(`${variant}: ${m}`) }, cfg, {
        dataset,
        tables,
        llamaDir,
      });
      rows.push({
        ...r,
        wallSeconds: Number(((performance.now() - vStart) / 1000).toFixed(1)),
        loadavg1: [Number(l0.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
      });
      log(`${variant}: ${JSON.stringify(r.metrics)}`);
      write(false);
    }
    write(true);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
