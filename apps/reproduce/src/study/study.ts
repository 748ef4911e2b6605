// `pnpm --filter @mmesid/reproduce bench:study`: the paper's comparison over datasets and seeds.
// Runs the pipeline (src/main.ts) once per dataset and seed, then aggregates. See README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultLlamaDir, llamaLabel, llamaWidth, REPO_ROOT, resolveLlamaDir } from '../options.js';
import { STUDY_VARIANTS } from '../presets.js';
import { variantOptionName } from '../variant-option.js';
import { aggregate, checkClaims, type SeedRun } from './aggregate.js';
import { writeStudy } from './write.js';

/** Table 3's semantic-ID-only baselines (apps/reproduce's generative stage). */
const STUDY_GENERATIVE = ['TIGER-MM', 'MOTOR', 'LETTER'] as const;

const HELP = `bench:study [options]

  --datasets a,b        default beauty,toys
  --seeds n|a,b,c       3 (= seeds 1,2,3) or an explicit list
  --variants a,b,...    default: SASRec, every variant (${STUDY_VARIANTS.length - 1}) and the
                        semantic-ID-only baselines ${STUDY_GENERATIVE.join(', ')} (beam search,
                        decoding ms/user reported beside the others' scoring ms/user)
  --out <dir>           run directories root (default runs/study); finished stages are reused
  --results <dir>       where study-<dataset>.{json,md,svg} go (default benchmarks/results)
  --sasrec-dim n        collaborative width (default 64); 16 makes the collapse visible at d = 64
  --llama <dir|name>    the LLM (default stories260k; babyllama128 gives d = 128); passed through, as is
                        --max-train-examples n
  --tag <s>             results go to study-<dataset>-<s>.* (e.g. d128), leaving the default files alone
  --preset tiny|paper   (default tiny, run with --bench on the real datasets)
`;

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      datasets: { type: 'string' },
      seeds: { type: 'string' },
      variants: { type: 'string' },
      out: { type: 'string' },
      results: { type: 'string' },
      'sasrec-dim': { type: 'string' },
      llama: { type: 'string' },
      'max-train-examples': { type: 'string' },
      preset: { type: 'string' },
      tag: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const datasets = (values.datasets ?? 'beauty,toys').split(',').filter(Boolean);
  const seedArg = values.seeds ?? '3';
  const seeds = /^\d+$/.test(seedArg)
    ? Array.from({ length: Number(seedArg) }, (_, i) => i + 1)
    : seedArg.split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new Error(`--seeds ${seedArg}: a count or a list of integers`);
  const variants =
    values.variants ?? [...STUDY_VARIANTS.map(variantOptionName), ...STUDY_GENERATIVE].join(',');
  const outRoot = values.out ?? 'runs/study';
  const resultsDir = resolve(REPO_ROOT, values.results ?? 'benchmarks/results');
  mkdirSync(resultsDir, { recursive: true });
  const collabWidth = values['sasrec-dim'] ? Number(values['sasrec-dim']) : 64;
  const llamaDir = values.llama ? resolveLlamaDir(values.llama) : defaultLlamaDir();
  if (values.tag !== undefined && !/^[\w.-]+$/.test(values.tag))
    throw new Error(`--tag ${values.tag}: letters, digits, '.', '_' and '-' only`);
  const passThrough = [
    ...(values['sasrec-dim'] ? ['--sasrec-dim', values['sasrec-dim']] : []),
    ...(values.llama ? ['--llama', values.llama] : []),
    ...(values['max-train-examples'] ? ['--max-train-examples', values['max-train-examples']] : []),
  ];
  const preset = values.preset ?? 'tiny';
  for (const dataset of datasets) {
    const t0 = performance.now();
    const runs: SeedRun[] = [];
    for (const seed of seeds) {
      const out = `${outRoot}/${dataset}/seed-${seed}`;
      const args = [
        'exec',
        'tsx',
        '--conditions=source',
        '--import',
        '../../tooling/scripts/tsx-hooks.mjs',
        'src/main.ts',
        '--dataset',
        dataset,
        '--seed',
        String(seed),
        '--variants',
        variants,
        '--out',
        out,
        '--preset',
        preset,
        ...(preset === 'tiny' && dataset !== 'synthetic' ? ['--bench'] : []),
        ...passThrough,
      ];
      console.log(`[study] ${dataset} seed ${seed}: pnpm ${args.join(' ')}`);
      const r = spawnSync('pnpm', args, { cwd: resolve(REPO_ROOT, 'apps/reproduce'), stdio: 'inherit' });
      if (r.status !== 0)
        throw new Error(
          `[study] ${dataset} seed ${seed} failed (exit ${r.status}); its stages are kept in ${out}`,
        );
      const file = resolve(REPO_ROOT, out, 'results.json');
      if (!existsSync(file)) throw new Error(`[study] ${file} was not written`);
      runs.push({ seed, ...(JSON.parse(readFileSync(file, 'utf8')) as Omit<SeedRun, 'seed'>) });
    }
    const study = aggregate(dataset, runs);
    const claims = checkClaims(study, collabWidth);
    const paper =
      (
        JSON.parse(readFileSync(resolve(REPO_ROOT, 'apps/reproduce/src/paper-figures.json'), 'utf8')) as {
          table3: Record<string, Record<string, Record<string, number>>>;
        }
      ).table3[dataset] ?? {};
    const path = writeStudy(resultsDir, study, claims, {
      paper,
      wallSeconds: (performance.now() - t0) / 1000,
      command: `bench:study ${process.argv.slice(2).join(' ')}`,
      collabWidth,
      ...(values.tag ? { name: `${dataset}-${values.tag}` } : {}),
      llm: { name: llamaLabel(llamaDir), d: llamaWidth(llamaDir) },
      notes: [
        `${seeds.length} seeds; each seed's run directory: ${outRoot}/${dataset}/seed-<n> (its report.md has the per-run details and budgets)`,
        `The LLM is ${llamaLabel(llamaDir)}, not Llama3-8B: compare orderings, not magnitudes.`,
        dataset === 'toys'
          ? "Toys here is the standard 5-core (19,412 users), not the paper's filtered copy (19,121): close, not the same task."
          : '',
      ].filter(Boolean),
    });
    console.log(`[study] ${dataset}: ${path}`);
  }
}

try {
  main();
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
