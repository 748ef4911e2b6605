// `pnpm --filter @mmesid/reproduce bench:study`: the paper's comparison over datasets and seeds.
// Runs the pipeline (src/main.ts) once per dataset and seed, then aggregates. See README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PASS_THROUGH_OPTIONS, parseCli, passThroughArgs } from '../cli.js';
import { defaultLlamaDir, llamaLabel, llamaWidth, REPO_ROOT, resolveLlamaDir } from '../options.js';
import { STUDY_VARIANTS } from '../presets.js';
import { variantOptionName } from '../variant-option.js';
import { aggregate, checkClaims, type SeedRun } from './aggregate.js';
import { STUDY_GENERATIVE, studyCuts } from './cuts.js';
import { earlierInvocations, type Invocation } from './invocations.js';
import { writeStudy } from './write.js';

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
  --collaborative sasrec|authors   passed through: authors = the table shipped with the dataset
                        (Beauty: the MME-SID authors'; Toys: E4SRec's), what the paper quantises
  --sasrec-epochs n --rqvae-epochs n --finetune-epochs n --finetune-users n
  --no-finetune-validation --no-rqvae-extras
                        budget cuts, passed through to every run (see pnpm reproduce --help); each is
                        listed in the report under "What was cut"
  --started <ISO time>  when the study began, if it ran as several invocations on the same --out
                        (the wall time of the first dataset is measured from it)
  --tag <s>             results go to study-<dataset>-<s>.* (e.g. d128), leaving the default files alone
  --preset tiny|paper   (default tiny, run with --bench on the real datasets)
  --report-only         run nothing: rebuild the study files from the finished runs' results.json
                        under --out (e.g. after a change to the report); the wall time, load and
                        machine recorded by the previous study file of that name are kept, and a
                        note says the report was regenerated
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
      ...PASS_THROUGH_OPTIONS,
      preset: { type: 'string' },
      tag: { type: 'string' },
      started: { type: 'string' },
      'report-only': { type: 'boolean' },
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
  const passThrough = passThroughArgs(values);
  const preset = values.preset ?? 'tiny';
  if (preset !== 'tiny' && preset !== 'paper') throw new Error(`--preset ${preset}: tiny or paper`);
  const started = values.started === undefined ? undefined : Date.parse(values.started);
  if (started !== undefined && !Number.isFinite(started))
    throw new Error(`--started ${values.started}: an ISO date-time, e.g. 2026-12-06T05:30:00Z`);
  // The flags every run of `dataset` gets besides --seed and --out.
  const runFlags = (dataset: string) => [
    '--dataset',
    dataset,
    '--variants',
    variants,
    '--preset',
    preset,
    ...(preset === 'tiny' && dataset !== 'synthetic' ? ['--bench', '--no-bench-record'] : []),
    ...passThrough,
  ];
  // The run's own parser checks every run's options (integers, variant names, consistent options,
  // the dataset's files, a writable --out) before any run starts, and gives the budgets that the
  // report's cut list names (the same for every dataset).
  const parsed = datasets.map((dataset) => {
    const opts = parseCli([...runFlags(dataset), '--out', `${outRoot}/${dataset}/seed-${seeds[0]}`]);
    if (opts === 'help') throw new Error('unreachable: --help is not passed through');
    return opts;
  });
  const opts = parsed[0]!;
  const budget = {
    ...(opts.sasrecEpochs !== undefined ? { sasrecEpochs: opts.sasrecEpochs } : {}),
    ...(opts.rqvaeEpochs !== undefined ? { rqvaeEpochs: opts.rqvaeEpochs } : {}),
    ...(opts.finetuneEpochs !== undefined ? { finetuneEpochs: opts.finetuneEpochs } : {}),
    ...(opts.finetuneUsers !== undefined ? { finetuneUsers: opts.finetuneUsers } : {}),
    ...(opts.motorEpochs !== undefined ? { motorEpochs: opts.motorEpochs } : {}),
    ...(opts.maxTrainExamples !== undefined ? { maxTrainExamples: opts.maxTrainExamples } : {}),
    finetuneValidation: opts.finetuneValidation,
    rqvaeExtras: opts.rqvaeExtras,
  };
  for (const dataset of datasets) {
    const t0 = performance.now();
    const t0Date = dataset === datasets[0] && started !== undefined ? started : Date.now();
    const loadStart = loadavg();
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
        ...runFlags(dataset),
        '--seed',
        String(seed),
        '--out',
        out,
      ];
      const file = resolve(REPO_ROOT, out, 'results.json');
      if (values['report-only']) {
        if (!existsSync(file))
          throw new Error(
            `[study] --report-only: ${file} not found: run the study without --report-only first`,
          );
      } else {
        console.log(`[study] ${dataset} seed ${seed}: pnpm ${args.join(' ')}`);
        const r = spawnSync('pnpm', args, { cwd: resolve(REPO_ROOT, 'apps/reproduce'), stdio: 'inherit' });
        if (r.status !== 0)
          throw new Error(
            `[study] ${dataset} seed ${seed} failed (exit ${r.status}); its stages are kept in ${out}`,
          );
        if (!existsSync(file)) throw new Error(`[study] ${file} was not written`);
      }
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
    const name = values.tag ? `${dataset}-${values.tag}` : dataset;
    const invocationSeconds = (performance.now() - t0) / 1000;
    const loadEnd = loadavg();
    const previous = resolve(resultsDir, `study-${name}.json`);
    const old = existsSync(previous)
      ? (JSON.parse(readFileSync(previous, 'utf8')) as Record<string, unknown>)
      : undefined;
    // Earlier invocations on the same --out ran the stages this one reused: the wall time is theirs
    // and this one's together (or counted from --started when given).
    const invocations: Invocation[] = [
      ...earlierInvocations(old, outRoot, REPO_ROOT),
      {
        startedAt: new Date(Date.now() - invocationSeconds * 1000).toISOString(),
        seconds: invocationSeconds,
        variants,
        loadAverage: { start: loadStart, end: loadEnd },
      },
    ];
    const timing = {
      wallSeconds:
        started !== undefined && dataset === datasets[0]
          ? (Date.now() - t0Date) / 1000
          : invocations.reduce((a, v) => a + v.seconds, 0),
      invocationSeconds,
      startedAt:
        started !== undefined && dataset === datasets[0]
          ? new Date(t0Date).toISOString()
          : invocations[0]!.startedAt,
      invocations,
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? '?',
        loadAverage: { start: loadStart, end: loadEnd },
        nativeBlas: process.env.MMESID_NATIVE_BLAS === '1',
      },
    };
    let regenerated = '';
    if (values['report-only']) {
      regenerated = `Report regenerated ${new Date().toISOString()} from the finished runs (--report-only)`;
      if (old) {
        timing.invocations = Array.isArray(old.invocations) ? (old.invocations as Invocation[]) : [];
        for (const k of ['wallSeconds', 'invocationSeconds', 'startedAt', 'machine'] as const)
          if (old[k] !== undefined) (timing as Record<string, unknown>)[k] = old[k];
        regenerated += `; wall time, load and machine are the original run's (${old.command ?? 'command not recorded'})`;
      } else {
        timing.invocations = [];
        regenerated += "; no earlier study file: the wall time is this invocation's, not the training's";
      }
    }
    const path = writeStudy(resultsDir, study, claims, {
      paper,
      ...timing,
      stageSeconds: runs.map((r) => ({ seed: r.seed, ...(r.stageSeconds ?? {}) })),
      cuts: studyCuts({
        dataset,
        datasets,
        seeds,
        variants: variants.split(','),
        preset,
        budget,
        d: llamaWidth(llamaDir),
      }),
      command: `bench:study ${process.argv.slice(2).join(' ')}`,
      out: resolve(REPO_ROOT, outRoot),
      collabWidth,
      ...(values.tag ? { name } : {}),
      llm: { name: llamaLabel(llamaDir), d: llamaWidth(llamaDir) },
      notes: [
        `${seeds.length} seeds; each seed's run directory: ${outRoot}/${dataset}/seed-<n> (its report.md has the per-run details and budgets)`,
        `The LLM is ${llamaLabel(llamaDir)}, not Llama3-8B: compare orderings, not magnitudes.`,
        dataset === 'toys'
          ? "Toys here is the standard 5-core (19,412 users), not the paper's filtered copy (19,121): close, not the same task."
          : '',
        regenerated,
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
