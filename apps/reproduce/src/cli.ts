import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  authorsTable,
  datasetDir,
  defaultLlamaDir,
  llm2clipProblems,
  type Options,
  OptionsSchema,
  STAGES,
} from './options.js';

export const HELP = `pnpm reproduce [options]

Runs the MME-SID pipeline: data -> SASRec -> modality embeddings -> MM-RQ-VAE -> fine-tuning of
every variant -> evaluation -> report. With no options: the synthetic dataset, the tiny preset
(stories260k from ../shared when present, else a seeded random tiny Llama), the WASM backend.

  --dataset synthetic|beauty|toys|sports   (default synthetic)
  --data-dir <dir>        the authors' layout (sequences.txt, items.csv) or raw Amazon 2014 files
  --preset tiny|paper     paper: Llama3-8B-instruct and LLM2CLIP from --llama/--llm2clip (GPU)
  --llama <dir>           any Hugging Face Llama folder (config.json + safetensors)
  --llm2clip <dir>        LLM2CLIP checkpoints: <dir>/text = LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned,
                          <dir>/vision = LLM2CLIP-Openai-L-14-336 (vision tower + text adapter); the
                          text and visual modalities then come from LLM2CLIP (paper preset: required)
  --variants a,b,...      default: SASRec,E4SRec,MME-SID,MME-SID-random,w/o-Fusion
                          also TIGER-MM, LETTER, MOTOR (semantic-ID-only baselines, @mmesid/generative)
  --stages a,b,...        subset of ${STAGES.join(',')}
  --backend wasm|cpu|webgpu|tfjs-node|tfjs-node-gpu   (default wasm)
  --seed <n>              (default 42)
  --out <dir>             run directory (default runs/default); finished stages are reused
  --collaborative sasrec|authors   collaborative modality: the trained SASRec's table (default)
                          or the authors' released table (<data-dir>/sasrec_item_emb.f32)
  --max-train-examples n  cap fine-tuning examples per epoch (quick runs)
  --help
`;

export class UsageError extends Error {}

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
        llama: { type: 'string' },
        llm2clip: { type: 'string' },
        variants: { type: 'string' },
        stages: { type: 'string' },
        backend: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        'max-train-examples': { type: 'string' },
        collaborative: { type: 'string' },
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
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`--${k} must be a non-negative integer, got "${v}"`);
    return n;
  };
  const list = (k: string) =>
    typeof values[k] === 'string'
      ? (values[k] as string)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  const raw = {
    dataset: values.dataset,
    dataDir: values['data-dir'],
    preset: values.preset,
    llama: values.llama,
    llm2clip: values.llm2clip,
    variants: list('variants'),
    stages: list('stages'),
    backend: values.backend,
    seed: num('seed'),
    out: values.out,
    bench: values.bench,
    maxTrainExamples: num('max-train-examples'),
    collaborative: values.collaborative,
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
  const data = datasetDir(opts);
  if (data.problem) problems.push(data.problem);
  else {
    const authors = authorsTable(opts);
    if (authors.problem) problems.push(authors.problem);
  }
  if (opts.llama && !existsSync(resolve(opts.llama, 'config.json')))
    problems.push(`--llama ${opts.llama}: no config.json there (expected a Hugging Face Llama folder)`);
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
  return opts;
}
