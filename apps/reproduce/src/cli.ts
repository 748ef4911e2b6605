import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  authorsTable,
  datasetDir,
  defaultLlamaDir,
  llamaDirProblem,
  llm2clipProblems,
  missingDatasetFiles,
  type Options,
  OptionsSchema,
  REPO_ROOT,
  resolveLlamaDir,
  STAGES,
} from './options.js';
import { DEFAULT_VARIANTS, preset, presetProblems } from './presets.js';
import { isGenerativeVariant } from './stages/generative.js';
import { parseVariantOption, variantOptionName } from './variant-option.js';

export const HELP = `pnpm reproduce [options]

Runs the MME-SID pipeline: data -> SASRec -> modality embeddings -> MM-RQ-VAE -> fine-tuning of
every variant -> evaluation -> report. With no options: the synthetic dataset, the tiny preset
(stories260k from ../shared when present, else a seeded random tiny Llama), the WASM backend.

  --dataset synthetic|beauty|toys|sports|custom   (default synthetic; custom with --data-dir)
  --data-dir <dir>        any folder in the authors' layout (sequences.txt required; items.csv,
                          sasrec_item_emb.f32/.json optional, what is missing is reported) or raw
                          Amazon 2014 files; alone it means --dataset custom, named after the folder
  --preset tiny|paper     paper: Llama3-8B-instruct and LLM2CLIP from --llama/--llm2clip (GPU)
  --llama <dir|name>      any Hugging Face Llama folder (config.json + safetensors), a folder with one
                          llama2.c legacy .bin, or a model name under ../shared/models (babyllama128:
                          d = 128; stories260k: d = 64, the default)
  --llm2clip <dir>        LLM2CLIP checkpoints: <dir>/text = LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned,
                          <dir>/vision = LLM2CLIP-Openai-L-14-336 (vision tower + text adapter); the
                          text and visual modalities then come from LLM2CLIP (paper preset: required)
  --variants a,b,...      default: ${DEFAULT_VARIANTS.map(variantOptionName).join(',')}
                          also TIGER-MM, LETTER, MOTOR (semantic-ID-only baselines, @mmesid/generative;
                          TIGER-MM-joint: TIGER-MM on the joint MM-RQ-VAE's SIDs)
  --stages a,b,...        subset of ${STAGES.join(',')}
  --backend wasm|cpu|webgpu|tfjs-node|tfjs-node-gpu   (default wasm)
  --seed <n>              (default 42)
  --out <dir>             run directory (default runs/default); finished stages are reused
  --collaborative sasrec|authors   collaborative modality: the trained SASRec's table (default)
                          or the authors' released table (<data-dir>/sasrec_item_emb.f32)
  --max-train-examples n  cap fine-tuning examples per epoch (quick runs)
  --sasrec-epochs n       budgets for quick runs and tests: SASRec epochs (tiny preset: 30),
  --rqvae-epochs n        MM-RQ-VAE epochs (60), fine-tuning epochs (Beauty's 4); a changed budget
  --finetune-epochs n     is another stage result (another cache key)
  --finetune-users n      fine-tune on the sequences of n users (seeded, every position; --bench: 3000)
  --motor-epochs n        MOTOR's SASRec epochs (default 10, --bench 30, paper 200)
  --no-finetune-validation  fine-tune the fixed epoch budget, without validation early stopping
                          (the authors' setup; the tiny preset validates)
  --no-bench-record       with --bench, leave benchmarks/results/reproduce-<dataset>.* alone
                          (bench:study passes it: its runs are recorded in study-<dataset>.*)
  --no-rqvae-extras       skip the rqvae-extras stage (the MSE twin and RQ-KMeans; the MMD-vs-MSE
                          tau comparison is then missing from the report) unless SE-SID-MSE, which
                          fine-tunes on the twin's IDs, is among --variants
  --checkpoint-every n    checkpoint the MM-RQ-VAE every n epochs (default 50) and the fine-tuning
                          every n optimiser steps (default 10); SASRec checkpoints every epoch.
                          Not part of the cache key: an interrupted run may resume with another n
  --lock-wait <minutes>   how long to wait for another invocation running a stage this one needs
                          (default 240), then give up with a message naming the lock
  --sasrec-dim n          width of the SASRec trained here (default 64); 16 or 32 against the LLM
                          width makes the collapse analysis (Fig. 3b) show a rank ceiling
  --help
`;

export class UsageError extends Error {}

/**
 * The options that shape one run's models and budgets, which `bench:study` takes too and passes
 * through to every run unchanged (one declaration for both parsers).
 */
export const PASS_THROUGH_OPTIONS = {
  llama: { type: 'string' },
  'max-train-examples': { type: 'string' },
  'sasrec-dim': { type: 'string' },
  collaborative: { type: 'string' },
  'sasrec-epochs': { type: 'string' },
  'rqvae-epochs': { type: 'string' },
  'finetune-epochs': { type: 'string' },
  'finetune-users': { type: 'string' },
  'motor-epochs': { type: 'string' },
  'no-finetune-validation': { type: 'boolean' },
  'no-rqvae-extras': { type: 'boolean' },
} as const;

/** The argv of the {@link PASS_THROUGH_OPTIONS} set in `values` (a parseArgs result), in declaration order. */
export function passThroughArgs(values: Record<string, string | boolean | undefined>): string[] {
  return Object.entries(PASS_THROUGH_OPTIONS).flatMap(([k, spec]) => {
    const v = values[k];
    if (v === undefined || v === false) return [];
    return spec.type === 'boolean' ? [`--${k}`] : [`--${k}`, String(v)];
  });
}

/** Parses and validates argv; every problem is reported before any work starts. */
export function parseCli(argv: string[]): Options | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.filter((a) => a !== '--'),
      options: {
        dataset: { type: 'string' },
        'data-dir': { type: 'string' },
        preset: { type: 'string' },
        llm2clip: { type: 'string' },
        variants: { type: 'string' },
        stages: { type: 'string' },
        backend: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        'lock-wait': { type: 'string' },
        ...PASS_THROUGH_OPTIONS,
        'no-bench-record': { type: 'boolean' },
        'checkpoint-every': { type: 'string' },
        bench: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${HELP}`);
  }
  if (values.help) return 'help';
  const num = (k: string) => {
    const v = values[k];
    if (v === undefined) return undefined;
    // Plain decimal digits only: Number('') is 0 and Number('1e3') is 1000, neither what was meant.
    if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw new UsageError(`--${k} must be a non-negative integer, got "${String(v).slice(0, 80)}"`);
    return Number(v);
  };
  const list = (k: string) => {
    if (typeof values[k] !== 'string') return undefined;
    const items = (values[k] as string)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!items.length)
      throw new UsageError(`--${k} names nothing (got "${values[k]}"); leave it out for the default`);
    return items;
  };
  const raw = {
    dataset: values.dataset ?? (values['data-dir'] !== undefined ? 'custom' : undefined),
    dataDir: values['data-dir'],
    preset: values.preset,
    llama: typeof values.llama === 'string' ? resolveLlamaDir(values.llama) : values.llama,
    llm2clip: values.llm2clip,
    variants: list('variants'),
    stages: list('stages'),
    backend: values.backend,
    seed: num('seed'),
    out: values.out,
    bench: values.bench,
    maxTrainExamples: num('max-train-examples'),
    sasrecDim: num('sasrec-dim'),
    sasrecEpochs: num('sasrec-epochs'),
    rqvaeEpochs: num('rqvae-epochs'),
    finetuneEpochs: num('finetune-epochs'),
    finetuneUsers: num('finetune-users'),
    motorEpochs: num('motor-epochs'),
    finetuneValidation: values['no-finetune-validation'] ? false : undefined,
    rqvaeExtras: values['no-rqvae-extras'] ? false : undefined,
    benchRecord: values['no-bench-record'] ? false : undefined,
    checkpointEvery: num('checkpoint-every'),
    collaborative: values.collaborative,
    lockWait: num('lock-wait'),
  };
  const parsed = OptionsSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
  );
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`);
    throw new UsageError(`invalid options:\n  ${lines.join('\n  ')}\n\n${HELP}`);
  }
  const opts = parsed.data;
  const problems: string[] = [];
  if (opts.dataset === 'synthetic' && opts.dataDir)
    problems.push(
      `--data-dir ${opts.dataDir} is not read with --dataset synthetic (the generator makes the data); drop --dataset, or pass the dataset the folder holds (beauty|toys|sports|custom)`,
    );
  if (opts.sasrecDim !== undefined && opts.collaborative === 'authors')
    problems.push(
      '--sasrec-dim sets the width of the SASRec trained here; --collaborative authors uses the released 64-d table instead: drop one',
    );
  if (opts.dataset === 'custom' && !opts.dataDir) problems.push('--dataset custom needs --data-dir <folder>');
  for (const v of opts.variants ?? [])
    if (v !== 'SASRec' && !isGenerativeVariant(v))
      try {
        parseVariantOption(v);
      } catch (e) {
        problems.push((e as Error).message);
      }
  const presetIssues = presetProblems(
    preset(opts.preset, { bench: opts.bench, seed: opts.seed, dataset: opts.dataset, d: 64 }),
  );
  problems.push(...presetIssues);
  const data = datasetDir(opts);
  if (data.problem) problems.push(data.problem);
  else {
    if (data.dir) for (const m of missingDatasetFiles(data.dir)) console.warn(`[reproduce] ${m}`);
    const authors = authorsTable(opts);
    if (authors.problem) problems.push(authors.problem);
  }
  if (opts.llama) {
    const problem = llamaDirProblem(opts.llama);
    if (problem) problems.push(`--llama ${opts.llama}: ${problem}`);
  }
  if (opts.llm2clip) problems.push(...llm2clipProblems(opts.llm2clip));
  if (opts.preset === 'paper') {
    if (!opts.llama) problems.push('--preset paper needs --llama <Llama3-8B-instruct folder>');
    if (!opts.llm2clip)
      problems.push(
        '--preset paper needs --llm2clip <dir> with <dir>/text (LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned) and <dir>/vision (LLM2CLIP-Openai-L-14-336)',
      );
  }
  if (!opts.llama && opts.preset === 'tiny' && !defaultLlamaDir())
    console.warn(
      '[reproduce] ../shared/models/stories260k not found: using a seeded random-weight tiny Llama',
    );
  if (problems.length) throw new UsageError(problems.join('\n'));
  // Last, once everything else is valid: the run directory must be a writable folder.
  const outProblem = runDirProblem(resolve(REPO_ROOT, opts.out));
  if (outProblem) throw new UsageError(`--out ${opts.out}: ${outProblem}`);
  return opts;
}

/** Why `dir` cannot be the run directory (created here if absent), or undefined. */
export function runDirProblem(dir: string): string | undefined {
  if (existsSync(dir) && !statSync(dir).isDirectory()) return `${dir} is a file, not a directory`;
  const probe = resolve(dir, `.write-test-${process.pid}`);
  try {
    // Level by level: mkdirSync({ recursive: true }) loops forever where a parent cannot be made (/proc).
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) {
      missing.unshift(d);
      if (dirname(d) === d) break;
    }
    const parent = missing.length ? dirname(missing[0]!) : dir;
    if (existsSync(parent) && !statSync(parent).isDirectory())
      return `cannot create or write ${missing[0] ?? dir}: ${parent} is a file (ENOTDIR)`;
    for (const d of missing) mkdirSync(d);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EROFS: 'the file system is read-only',
      ENOSPC: 'no space left on the device',
      ENOTDIR: 'a parent of it is a file',
      EEXIST: 'a parent of it is a file',
      ENOENT: 'a parent of it cannot be created',
    };
    return `cannot create or write ${err.path ?? dir}: ${why[err.code ?? ''] ?? err.message} (${err.code ?? 'error'})`;
  }
}
