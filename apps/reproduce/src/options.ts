import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const here = dirname(fileURLToPath(import.meta.url));
/** The repo root (apps/reproduce/src -> ../../..). */
export const REPO_ROOT = resolve(here, '../../..');
/** `../shared` beside the checkout, or MMESID_SHARED. */
export const SHARED_DIR = process.env.MMESID_SHARED ?? resolve(REPO_ROOT, '../shared');

export const STAGES = ['data', 'sasrec', 'embeddings', 'rqvae', 'finetune', 'report'] as const;
export type Stage = (typeof STAGES)[number];

/** `custom`: the folder given by `--data-dir` (named after it), in the authors' layout or raw Amazon 2014. */
export const DATASETS = ['synthetic', 'beauty', 'toys', 'sports', 'custom'] as const;
export const BACKENDS = ['wasm', 'cpu', 'webgpu', 'tfjs-node', 'tfjs-node-gpu'] as const;

export const OptionsSchema = z.object({
  dataset: z.enum(DATASETS).default('synthetic'),
  dataDir: z.string().optional(),
  preset: z.enum(['tiny', 'paper']).default('tiny'),
  llama: z.string().optional(),
  llm2clip: z.string().optional(),
  variants: z.array(z.string()).optional(),
  stages: z.array(z.enum(STAGES)).default([...STAGES]),
  backend: z.enum(BACKENDS).default('wasm'),
  seed: z.number().int().nonnegative().default(42),
  out: z.string().default('runs/default'),
  bench: z.boolean().default(false),
  /**
   * The collaborative modality: `sasrec` (the table of the SASRec this run trains) or `authors`
   * (the MME-SID authors' released SASRec table, `sasrec_item_emb.f32` in the data folder, which is
   * what the paper's pipeline quantises). The SASRec row is the trained SASRec either way.
   */
  collaborative: z.enum(['sasrec', 'authors']).default('sasrec'),
  /** Width of the SASRec trained here (the collaborative modality); default the preset's 64. A narrow
   * table (16, 32) against the LLM width makes the embedding-collapse analysis meaningful at CPU scale. */
  sasrecDim: z.number().int().positive().optional(),
  /** Cap on fine-tuning examples/epochs for quick runs (tiny preset); null = preset value. */
  maxTrainExamples: z.number().int().positive().optional(),
  /** Budget overrides for quick runs and tests (they change the stage's cache key, as any budget does). */
  sasrecEpochs: z.number().int().positive().optional(),
  rqvaeEpochs: z.number().int().positive().optional(),
  finetuneEpochs: z.number().int().positive().optional(),
  /** MOTOR's SASRec epochs (preset: 10, `--bench` 30, paper 200); the study gives it the SASRec row's budget. */
  motorEpochs: z.number().int().positive().optional(),
  /** Fine-tuning on the sequences of this many users (seeded), every position; overrides the preset's. */
  finetuneUsers: z.number().int().positive().optional(),
  /**
   * `false`: fine-tune a fixed number of epochs without validation early stopping (the authors'
   * setup), even where the preset validates.
   */
  finetuneValidation: z.boolean().default(true),
  /**
   * `false`: with `bench`, do not write `benchmarks/results/reproduce-<dataset>.*` (the study runs
   * `--bench` once per seed and must not overwrite the recorded benchmark with each of them).
   */
  benchRecord: z.boolean().default(true),
  /** `false`: the rqvae stage trains only the MMD MM-RQ-VAE (no MSE twin, no RQ-KMeans). */
  rqvaeExtras: z.boolean().default(true),
  /**
   * Checkpoint interval of the MM-RQ-VAE (epochs, default 50) and the fine-tuning (optimiser steps,
   * default 10); SASRec checkpoints every epoch. Not part of any cache key: a resume may use another.
   */
  checkpointEvery: z.number().int().positive().optional(),
  /** Minutes to wait for another invocation's stage lock before giving up. */
  lockWait: z.number().int().positive().default(240),
});
export type Options = z.output<typeof OptionsSchema>;

/** The embedded default Llama: the real pre-trained stories260k when `../shared` has it. */
export function defaultLlamaDir(): string | undefined {
  const p = resolve(SHARED_DIR, 'models/stories260k');
  return existsSync(resolve(p, 'config.json')) ? p : undefined;
}

/**
 * `--llama` as given: a folder, or the name of one under `../shared/models` (`babyllama128`,
 * `stories260k`) when no folder of that name exists here.
 */
export function resolveLlamaDir(value: string): string {
  if (existsSync(value)) return value;
  const shared = resolve(SHARED_DIR, 'models', value);
  return /^[\w.-]+$/.test(value) && existsSync(shared) ? shared : value;
}

/** The legacy llama2.c checkpoint of a folder without config.json (`*.bin` not named `tok*`), if exactly one. */
function llama2cBin(dir: string): string | undefined {
  if (existsSync(resolve(dir, 'config.json'))) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const bins = names.filter((n) => n.endsWith('.bin') && !n.startsWith('tok'));
  return bins.length === 1 ? resolve(dir, bins[0]!) : undefined;
}

/** Why `dir` cannot be the `--llama` folder, or undefined. */
export function llamaDirProblem(dir: string): string | undefined {
  if (existsSync(resolve(dir, 'config.json')) || llama2cBin(dir)) return undefined;
  return existsSync(dir)
    ? 'neither a config.json (Hugging Face Llama folder) nor one llama2.c .bin checkpoint there'
    : `no such folder (nor ${resolve(SHARED_DIR, 'models', dir)})`;
}

/**
 * The LLM width d of a Llama folder: `hidden_size` of its config.json, or the `dim` field of a llama2.c
 * checkpoint's header (babyllama128: 128); 64 without a folder (the random tiny Llama).
 */
export function llamaWidth(dir: string | undefined): number {
  if (!dir) return 64;
  const bin = llama2cBin(dir);
  if (bin) {
    const head = readFileSync(bin).subarray(0, 4);
    const dim = head.length === 4 ? new DataView(head.buffer, head.byteOffset, 4).getInt32(0, true) : 0;
    return dim > 0 ? dim : 64;
  }
  try {
    const c = JSON.parse(readFileSync(resolve(dir, 'config.json'), 'utf8')) as { hidden_size?: unknown };
    return typeof c.hidden_size === 'number' && c.hidden_size > 0 ? c.hidden_size : 64;
  } catch {
    return 64;
  }
}

/** A short name of the LLM for reports: the folder's name, or the random tiny Llama. */
export function llamaLabel(dir: string | undefined): string {
  if (!dir) return 'a random tiny Llama (d = 64)';
  const name =
    dir
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? dir;
  return `${name} (d = ${llamaWidth(dir)})`;
}

/** The authors' SASRec table of a dataset folder, or why it cannot be used. */
export function authorsTable(opts: Options): { file?: string; problem?: string } {
  if (opts.collaborative !== 'authors') return {};
  const d = datasetDir(opts);
  if (!d.dir) return { problem: '--collaborative authors needs a dataset folder (not --dataset synthetic)' };
  const file = resolve(d.dir, 'sasrec_item_emb.f32');
  return existsSync(file)
    ? { file }
    : {
        problem: `--collaborative authors: ${file} does not exist (Beauty ships the MME-SID authors' table, Toys E4SRec's)`,
      };
}

/**
 * Whose pre-trained SASRec table `sasrec_item_emb.f32` is, for reports: Beauty's comes from the
 * MME-SID authors' repository; Toys' from E4SRec's (the MME-SID authors did not publish Toys, see
 * `../shared/datasets/toys/README.md`); any other folder's is only known to ship with the data.
 */
export function collaborativeTableLabel(dataset: string): string {
  if (dataset === 'beauty') return "the MME-SID authors' released SASRec table";
  if (dataset === 'toys')
    return "E4SRec's released SASRec table for Toys (HestiaSky/E4SRec; the MME-SID authors published none for Toys)";
  return 'the pre-trained SASRec table shipped with the dataset folder';
}

/** The datasets `../shared` holds in the authors' layout, by `--dataset` name. */
export const SHARED_DATASETS: Readonly<Record<string, string>> = {
  beauty: 'datasets/beauty',
  toys: 'datasets/toys',
};

/** Files of the authors' layout a folder may hold beside `sequences.txt`, and what each missing one costs. */
export const OPTIONAL_DATASET_FILES: Readonly<Record<string, string>> = {
  'items.csv':
    'no titles: the text modality falls back to what the data stage can derive, numItems = the largest id in the sequences',
  'sasrec_item_emb.f32': '--collaborative authors is unavailable (the SASRec trained in the run is used)',
  'sasrec_item_emb.json': 'the shape of sasrec_item_emb.f32 is not described',
};

/** Where a dataset's files are, or why they are not there. */
export function datasetDir(opts: Options): { dir?: string; problem?: string } {
  if (opts.dataset === 'synthetic') return {};
  if (opts.dataDir) {
    const d = resolve(opts.dataDir);
    if (!existsSync(d)) return { problem: `--data-dir ${d} does not exist` };
    const authorsLayout = existsSync(resolve(d, 'sequences.txt'));
    const raw = readdirSync(d).some((f) => /^reviews_.+_5\.json(\.gz)?$/.test(f));
    if (!authorsLayout && !raw)
      return {
        problem: `--data-dir ${d}: no sequences.txt (the authors' layout: one line per user, "user item item ...") and no reviews_<Category>_5.json.gz (raw Amazon 2014); put one of them there`,
      };
    return { dir: d };
  }
  const shared = SHARED_DATASETS[opts.dataset];
  if (shared) {
    const d = resolve(SHARED_DIR, shared);
    if (existsSync(resolve(d, 'sequences.txt'))) return { dir: d };
    return {
      problem: `--dataset ${opts.dataset}: ${resolve(d, 'sequences.txt')} not found: pass --data-dir <folder with sequences.txt (and optionally items.csv, sasrec_item_emb.f32/.json)> or set MMESID_SHARED`,
    };
  }
  return {
    problem: `--dataset ${opts.dataset} needs its files: pass --data-dir <folder with sequences.txt> (the authors' layout) or <folder with reviews_<Category>_5.json.gz and meta_<Category>.json.gz> (this machine cannot download them)`,
  };
}

/** The optional files of the authors' layout missing from a dataset folder, each with what it costs. */
export function missingDatasetFiles(dir: string): string[] {
  if (!existsSync(resolve(dir, 'sequences.txt'))) return [];
  return Object.entries(OPTIONAL_DATASET_FILES)
    .filter(([f]) => !existsSync(resolve(dir, f)))
    .map(([f, cost]) => `${resolve(dir, f)} is absent: ${cost}`);
}

/**
 * The `--llm2clip <dir>` layout: two Hugging Face folders side by side (real folders or symlinks).
 *
 * - `<dir>/text`: the LLM2Vec Llama (microsoft/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned): config.json,
 *   model.safetensors or model.safetensors.index.json + shards, and tokenizer.json (a llama2.c
 *   tokenizer.llama2c.json / tokenizer.bin also loads, for tiny test models). Read by
 *   `Llm2VecTextEncoder.fromPretrained(text, vision)`.
 * - `<dir>/vision`: the LLM2CLIP CLIP checkpoint (microsoft/LLM2CLIP-Openai-L-14-336): config.json,
 *   model.safetensors (or an index + shards) holding the vision tower (`vision_model.*`), its
 *   projection (`visual_projection.weight`) and the text adapter (`text_adapter.adaptor.*`),
 *   optionally preprocessor_config.json. Read by `ClipVisionEncoder.fromPretrained(vision)`; the text
 *   adapter is loaded from the same checkpoint.
 */
export function llm2clipLayout(dir: string): { root: string; text: string; vision: string; adapter: string } {
  const root = resolve(dir);
  const vision = resolve(root, 'vision');
  return { root, text: resolve(root, 'text'), vision, adapter: vision };
}

const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json'];
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer.llama2c.json', 'tokenizer.bin'];

/** What is missing from a `--llm2clip` folder (empty when the layout is complete). */
export function llm2clipProblems(dir: string): string[] {
  const l = llm2clipLayout(dir);
  const flag = `--llm2clip ${dir}`;
  if (!existsSync(l.root)) return [`${flag}: ${l.root} does not exist`];
  const problems: string[] = [];
  const oneOf = (folder: string, files: string[]) => files.some((f) => existsSync(resolve(folder, f)));
  const check = (folder: string, what: string) => {
    if (!existsSync(folder)) {
      problems.push(`${flag}: no ${folder} (expected ${what}; a symlink to the downloaded folder is fine)`);
      return false;
    }
    if (!existsSync(resolve(folder, 'config.json')))
      problems.push(`${flag}: no ${resolve(folder, 'config.json')} (${what})`);
    if (!oneOf(folder, WEIGHT_FILES))
      problems.push(`${flag}: no ${WEIGHT_FILES.map((f) => resolve(folder, f)).join(' or ')} (${what})`);
    return true;
  };
  const textWhat = 'the LLM2Vec Llama folder, microsoft/LLM2CLIP-Llama-3-8B-Instruct-CC-Finetuned';
  if (check(l.text, textWhat) && !oneOf(l.text, TOKENIZER_FILES))
    problems.push(`${flag}: no ${resolve(l.text, 'tokenizer.json')} (the tokenizer of ${textWhat})`);
  check(
    l.vision,
    'the LLM2CLIP CLIP folder with the vision tower, its projection and the text adapter, microsoft/LLM2CLIP-Openai-L-14-336',
  );
  if (problems.length)
    problems.push(
      `  --llm2clip expects <dir>/text (LLM2Vec Llama: config.json, safetensors, tokenizer.json) and <dir>/vision (LLM2CLIP-Openai-L-14-336: config.json, model.safetensors); see apps/reproduce/README.md`,
    );
  return problems;
}
