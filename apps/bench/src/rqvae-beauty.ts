/**
 * bench:rqvae-beauty: the MM-RQ-VAE on the authors' Beauty SASRec embeddings (collaborative modality
 * only), with MSE and with MMD reconstruction under the same seed and budget, beside RQ-KMeans.
 * Prints each run's figures and writes benchmarks/results/rqvae-beauty.json (rewritten after
 * every run, atomically, so a stopped bench keeps what it finished).
 *
 *   pnpm --filter @mmesid/bench bench:rqvae-beauty
 *
 * Environment (all optional):
 *   BEAUTY_DIR       the authors' Beauty folder (default ../shared/datasets/beauty beside the checkout)
 *   BENCH_RUNS       comma list of rq-kmeans, mse, mmd, multimodal, multimodal-w1, multimodal-mmd,
 *                    multimodal-none (default: all but multimodal-mmd)
 *   BENCH_EPOCHS     epoch budget of each RQ-VAE run (default 12)
 *   BENCH_MAX_SECONDS  a guard on each RQ-VAE run's training time (default none): a run that
 *                      reaches it is recorded as failed, never as a shorter result
 *   BENCH_BACKEND    tfjs backend (default wasm)
 *   BENCH_SEED       seed of every run (default 42); runs are stored per (kind, seed), and a
 *                    later invocation replaces only the runs it repeats, so seeds accumulate
 *
 * The multimodal runs need a text modality: they use `TfidfSvdTextEncoder` from @mmesid/llm2clip
 * when that package exports it (item titles -> TF-IDF -> SVD, an offline encoder, not LLM2CLIP:
 * its name is recorded), and are skipped with the reason recorded otherwise. `multimodal` aligns
 * with InfoNCE at the paper's weight 0.01, `multimodal-w1` with InfoNCE at weight 1,
 * `multimodal-mmd` with MMD and `multimodal-none` not at all, so the alignment figures
 * (cross-modal retrieval of an item's own quantised text embedding) can be compared.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leaveOneOut, loadAuthorsDataset, loadEmbedding } from '@mmesid/datasets';
import { behaviouralPairs, type ItemPairs } from '@mmesid/metrics';
import {
  type EmbeddingMatrix,
  type EpochReport,
  MMRQVAE,
  type ModalityReport,
  RQKMeans,
  type SemanticIdTokenizer,
  tokenizerReport,
  trainRqvae,
} from '@mmesid/rqvae';
import { initBackend, Rng } from '@mmesid/tensor';
import { rqvaeBenchConfig, rqvaeBenchTrain } from './rqvae-config.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const beautyDir = process.env.BEAUTY_DIR ?? resolve(repo, '../shared/datasets/beauty');
const outFile = join(repo, 'benchmarks/results/rqvae-beauty.json');
const runs = (process.env.BENCH_RUNS ?? 'rq-kmeans,mse,mmd,multimodal,multimodal-w1,multimodal-none')
  .split(',')
  .map((s) => s.trim());
const epochs = Number(process.env.BENCH_EPOCHS ?? 12);
// A guard, not a budget (default none): a run that reaches it is recorded as failed, since its
// result would depend on the machine's speed. The budget is BENCH_EPOCHS.
const maxSeconds = Number(process.env.BENCH_MAX_SECONDS ?? 0);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const TEXT_DIM = 128;

const BASE = rqvaeBenchConfig(SEED);
const TRAIN = { ...rqvaeBenchTrain(SEED), maxEpochs: epochs, maxSeconds, logEvery: 5 };

interface RunResult {
  kind: string;
  seed: number;
  status: 'done' | 'skipped' | 'failed';
  reason?: string;
  seconds?: { total: number; kmeansInit?: number; training?: number; report: number };
  training?: {
    epochs: number;
    steps: number;
    stoppedBy: string;
    bestEpoch: number;
    bestLoss: number;
    firstLoss: number;
  };
  /** Test-split behavioural pairs (last history item, target). */
  collaborative?: ModalityReport;
  text?: ModalityReport;
  /** The text encoder of the multimodal run (an offline TF-IDF + SVD encoder, not LLM2CLIP). */
  textEncoder?: string;
  /** Cross-modal figures of a multimodal run, on the quantised embeddings (see `alignmentFigures`). */
  alignment?: AlignmentFigures;
  config?: unknown;
}

const loadStart = loadavg();
await initBackend({ require: (process.env.BENCH_BACKEND ?? 'wasm') as 'wasm' });
console.log(
  `[bench] machine: ${cpus().length} cores, load average ${loadStart.map((v) => v.toFixed(2)).join(' ')} (shared with other engineers)`,
);

if (!existsSync(beautyDir)) throw new Error(`Beauty data not found at ${beautyDir}; set BEAUTY_DIR`);
const table = await loadEmbedding(join(beautyDir, 'sasrec_item_emb.f32'));
const dataset = await loadAuthorsDataset(beautyDir);
const split = leaveOneOut(dataset);
// Rows 1..12086 of the table are items 1..12086 (row 0 is padding): tokenizer row r = item r + 1.
const items: EmbeddingMatrix = { rows: table.rows - 1, cols: table.cols, data: table.data.slice(table.cols) };
const shift = (p: ItemPairs): ItemPairs => ({
  first: p.first.map((v) => v - 1),
  second: p.second.map((v) => v - 1),
});
const test = behaviouralPairs(split.test);
const pairs = shift(test);
const allHistory = shift(historyTargetPairs(split.test));
console.log(
  `[bench] ${items.rows} items x ${items.cols}; ${test.first.length} behavioural test pairs (last history item, target; ${test.duplicates} duplicates, ${test.selfPairs} self pairs left out); ${allHistory.first.length} (history item, target) pairs`,
);

const previous = await readPrevious();
const results: RunResult[] = [];
let textCache: Awaited<ReturnType<typeof textEmbeddings>> | undefined;
const started = new Date().toISOString();
await save();

for (const kind of runs) {
  const t0 = performance.now();
  try {
    if (kind === 'rq-kmeans') {
      const rqk = new RQKMeans({
        modalities: [{ name: 'collaborative', inputDim: 64 }],
        levels: 4,
        codebookSize: 256,
        kmeansIters: 100,
        seed: SEED,
      });
      const fit = await rqk.fit({ collaborative: items });
      const r = await report(rqk, { collaborative: items });
      results.push({
        kind,
        seed: SEED,
        status: 'done',
        seconds: { total: sec(t0), kmeansInit: fit.seconds, report: r.seconds },
        ...r.figures,
        config: rqk.config,
      });
      rqk.dispose();
    } else if (kind === 'mse' || kind === 'mmd') {
      const model = new MMRQVAE({
        ...BASE,
        modalities: [{ name: 'collaborative', inputDim: 64 }],
        reconstruction: kind,
      });
      const inputs = { collaborative: items };
      const res = await trainRqvae(model, inputs, TRAIN, { log: epochLog(kind, false) });
      results.push(trainedRun(kind, t0, res, await report(model, inputs), model));
      model.dispose();
    } else if (kind.startsWith('multimodal')) {
      textCache ??= await textEmbeddings();
      const textOut = textCache;
      if (typeof textOut === 'string') {
        results.push({ kind, seed: SEED, status: 'skipped', reason: textOut });
      } else {
        const text = textOut.matrix;
        console.log(`[bench] text modality: ${textOut.encoder}`);
        const model = new MMRQVAE({
          ...BASE,
          modalities: [
            { name: 'collaborative', inputDim: 64 },
            { name: 'text', inputDim: text.cols },
          ],
          reconstruction: 'mmd',
          alignment: kind === 'multimodal-mmd' ? 'mmd' : kind === 'multimodal-none' ? 'none' : 'infonce',
          // multimodal-w1: InfoNCE at weight 1 instead of the paper's 0.01, to show the term at work.
          alignmentWeight: kind === 'multimodal-w1' ? 1 : 0.01,
        });
        const inputs = { collaborative: items, text };
        const res = await trainRqvae(model, inputs, TRAIN, { log: epochLog(kind, true) });
        const r = await report(model, inputs);
        const q = await model.quantize(inputs);
        const alignment = alignmentFigures(q.collaborative!, q.text!);
        console.log(
          `[bench] ${kind}: collaborative -> own text among ${alignment.sample} items: recall@1 ${alignment.recallAt1.toFixed(4)}, recall@10 ${alignment.recallAt10.toFixed(4)} (chance ${(1 / alignment.sample).toFixed(4)}, ${(10 / alignment.sample).toFixed(4)}); cosine own ${alignment.meanCosineOwn.toFixed(4)} vs others ${alignment.meanCosineOthers.toFixed(4)}`,
        );
        results.push({
          ...trainedRun(kind, t0, res, r, model),
          textEncoder: textOut.encoder,
          alignment,
        });
        model.dispose();
      }
    } else {
      results.push({ kind, seed: SEED, status: 'skipped', reason: `unknown run "${kind}"` });
    }
  } catch (e) {
    results.push({
      kind,
      seed: SEED,
      status: 'failed',
      reason: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
  }
  const last = results[results.length - 1]!;
  console.log(`[bench] ${kind}: ${last.status}${last.reason ? ` (${last.reason.split('\n')[0]})` : ''}`);
  if (last.collaborative) {
    const c = last.collaborative;
    console.log(
      `[bench] ${kind}: tau quantized ${c.tauQuantized?.toFixed(4)}, reconstructed ${c.tauReconstructed?.toFixed(4)}; ` +
        `collisions ${(100 * c.duplicateRate).toFixed(2)}% (items in a shared ID ${(100 * c.collisionRate).toFixed(2)}%); ` +
        `usage ${c.perLevel.map((l) => l.usedCodes).join('/')}, perplexity ${c.perLevel.map((l) => l.perplexity.toFixed(1)).join('/')}; ` +
        `recon MSE ${c.reconstructionMse.toFixed(5)}; all-history tau ${c.tauBy?.allHistory?.quantized.toFixed(4)}; ${last.seconds?.total.toFixed(0)} s`,
    );
  }
  await save();
}

const mse = results.find((r) => r.kind === 'mse')?.collaborative?.tauQuantized;
const mmd = results.find((r) => r.kind === 'mmd')?.collaborative?.tauQuantized;
// (seed SEED of this invocation; other seeds are in the JSON)
if (mse !== undefined && mmd !== undefined) {
  console.log(
    `[bench] paper: tau 0.4436 (MMD) vs 0.3714 (MSE); here ${mmd.toFixed(4)} (MMD) vs ${mse.toFixed(4)} (MSE)`,
  );
  console.log(
    `[bench] bar: tau(MMD) >= 0.44: ${mmd >= 0.44 ? 'met' : 'NOT met'}; tau(MMD) > tau(MSE): ${mmd > mse ? 'met' : 'NOT met'}`,
  );
}

async function report(tokenizer: SemanticIdTokenizer, inputs: Record<string, EmbeddingMatrix>) {
  const t0 = performance.now();
  // Text pairs are the same items: every modality gets the same two pair sets.
  const rep = await tokenizerReport(tokenizer, inputs, { pairs, extraPairs: { allHistory } });
  const figures: Pick<RunResult, 'collaborative' | 'text'> = { collaborative: rep.collaborative! };
  if (rep.text) figures.text = rep.text;
  return { figures, seconds: sec(t0) };
}

/** Every (history item, target) pair of the examples, unordered and unique, self pairs left out. */
function historyTargetPairs(examples: readonly { history: ArrayLike<number>; target: number }[]): ItemPairs {
  const seen = new Set<number>();
  const first: number[] = [];
  const second: number[] = [];
  for (const ex of examples) {
    for (let i = 0; i < ex.history.length; i++) {
      const a = ex.history[i]!;
      const b = ex.target;
      if (a === b) continue;
      const key = Math.min(a, b) * 2 ** 20 + Math.max(a, b);
      if (seen.has(key)) continue;
      seen.add(key);
      first.push(a);
      second.push(b);
    }
  }
  return { first: Int32Array.from(first), second: Int32Array.from(second) };
}

/**
 * Text embeddings of the item titles through @mmesid/llm2clip's offline encoder (TF-IDF over word
 * and character n-grams, then a truncated SVD; NOT LLM2CLIP: its name says so in the JSON), or why
 * there are none.
 */
async function textEmbeddings(): Promise<{ matrix: EmbeddingMatrix; encoder: string } | string> {
  let mod: Record<string, unknown>;
  try {
    const spec = '@mmesid/llm2clip';
    mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
  } catch (e) {
    return `@mmesid/llm2clip cannot be imported (${(e as Error).message.split('\n')[0]})`;
  }
  const Encoder = mod.TfidfSvdTextEncoder as
    | {
        fit(
          texts: readonly string[],
          opts: { dim: number; seed: number },
        ): {
          name: string;
          dim: number;
          encode(b: readonly string[]): Promise<Float32Array>;
          dispose(): void;
        };
      }
    | undefined;
  if (!Encoder) return '@mmesid/llm2clip does not export TfidfSvdTextEncoder (the offline text encoder)';
  const titles = dataset.items.slice(1).map((m) => m?.title ?? '');
  const enc = Encoder.fit(titles, { dim: TEXT_DIM, seed: SEED });
  const data = await enc.encode(titles);
  enc.dispose();
  if (data.length !== items.rows * TEXT_DIM)
    return `TfidfSvdTextEncoder.encode returned ${data.length} values for ${items.rows} titles x ${TEXT_DIM}`;
  return { matrix: { rows: items.rows, cols: TEXT_DIM, data }, encoder: enc.name };
}

interface AlignmentFigures {
  /** Items sampled (seeded); retrieval is among them. */
  sample: number;
  /** Fraction whose own quantised text embedding is the most cosine-similar to their quantised collaborative one. */
  recallAt1: number;
  recallAt10: number;
  meanCosineOwn: number;
  meanCosineOthers: number;
}

/**
 * Cross-modal retrieval on the quantised embeddings: for a seeded sample of items, rank the
 * sample's text embeddings by cosine similarity to each collaborative embedding and see where the
 * item's own text lands. Without alignment the two spaces are unrelated and recall sits at chance.
 */
function alignmentFigures(a: EmbeddingMatrix, b: EmbeddingMatrix, sample = 2000): AlignmentFigures {
  const rng = new Rng(`${SEED}:align-sample`);
  const idx = rng.shuffle(Array.from({ length: a.rows }, (_, i) => i)).slice(0, sample);
  const unit = (m: EmbeddingMatrix, i: number): Float64Array => {
    const v = Float64Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n) || 1;
    return v.map((x) => x / n);
  };
  const A = idx.map((i) => unit(a, i));
  const B = idx.map((i) => unit(b, i));
  let r1 = 0;
  let r10 = 0;
  let own = 0;
  let others = 0;
  for (let i = 0; i < idx.length; i++) {
    const sims = B.map((v) => v.reduce((s, x, k) => s + x * A[i]![k]!, 0));
    const mine = sims[i]!;
    let better = 0;
    for (let j = 0; j < sims.length; j++) if (j !== i && sims[j]! > mine) better++;
    if (better === 0) r1++;
    if (better < 10) r10++;
    own += mine;
    others += (sims.reduce((s, x) => s + x, 0) - mine) / (sims.length - 1);
  }
  const n = idx.length;
  return {
    sample: n,
    recallAt1: r1 / n,
    recallAt10: r10 / n,
    meanCosineOwn: own / n,
    meanCosineOthers: others / n,
  };
}

/** Runs of an earlier invocation that this one does not repeat (same kind and seed), kept in the JSON. */
async function readPrevious(): Promise<RunResult[]> {
  try {
    const json = JSON.parse(await readFile(outFile, 'utf8')) as { runs?: RunResult[] };
    // Runs written before runs carried a seed were all seed 42.
    return (json.runs ?? [])
      .map((r) => ({ ...r, seed: r.seed ?? 42 }))
      .filter((r) => !(runs.includes(r.kind) && r.seed === SEED));
  } catch {
    return [];
  }
}

/** Progress lines of an RQ-VAE run: every 5th epoch and the last. */
function epochLog(kind: string, withAlignment: boolean) {
  return (e: EpochReport, last: boolean) =>
    last || (e.epoch + 1) % 5 === 0
      ? console.log(
          `[${kind}] epoch ${e.epoch + 1} loss ${e.loss.toFixed(5)} (recon ${e.reconstruction.toFixed(5)}, quant ${e.quantization.toFixed(5)}${withAlignment ? `, align ${e.alignment.toFixed(5)}` : ''}) ${Math.round(e.itemsPerSecond)} items/s elapsed ${e.seconds.toFixed(0)}s`,
        )
      : undefined;
}

/** The record of a finished MM-RQ-VAE run: times, training summary, figures, configs. */
function trainedRun(
  kind: string,
  t0: number,
  res: Awaited<ReturnType<typeof trainRqvae>>,
  r: Awaited<ReturnType<typeof report>>,
  model: MMRQVAE,
) {
  if (res.stoppedBy === 'maxSeconds')
    throw new Error(
      `the BENCH_MAX_SECONDS=${maxSeconds} guard stopped training after ${res.epochs} of ${epochs} epochs: not recorded`,
    );
  return {
    kind,
    seed: SEED,
    status: 'done' as const,
    seconds: {
      total: sec(t0),
      kmeansInit: res.initSeconds,
      training: res.seconds - res.initSeconds,
      report: r.seconds,
    },
    training: {
      epochs: res.epochs,
      steps: res.steps,
      stoppedBy: res.stoppedBy,
      bestEpoch: res.bestEpoch,
      bestLoss: res.bestLoss,
      firstLoss: res.history[0]!,
    },
    ...r.figures,
    config: { model: model.config, training: TRAIN },
  };
}

function sec(t0: number): number {
  return (performance.now() - t0) / 1000;
}

async function save(): Promise<void> {
  const json = {
    benchmark: 'rqvae-beauty',
    description:
      "MM-RQ-VAE on the MME-SID authors' Beauty SASRec embeddings (rows 1..12086, 64-d), collaborative modality only: MSE vs MMD reconstruction with the same seed and budget, and RQ-KMeans. tau = Kendall tau-b between Euclidean distances of item pairs in the SASRec space and in the quantised space (sum of codes), over the behavioural pairs of the test split.",
    command: 'pnpm --filter @mmesid/bench bench:rqvae-beauty',
    started,
    finished: new Date().toISOString(),
    backend: process.env.BENCH_BACKEND ?? 'wasm',
    machine: {
      cores: cpus().length,
      loadAverageAtStart: loadStart,
      loadAverageNow: loadavg(),
      note: 'shared with other engineers running tests and benchmarks',
    },
    data: {
      dir: beautyDir,
      items: items.rows,
      dim: items.cols,
      testPairs: pairs.first.length,
      allHistoryPairs: allHistory.first.length,
    },
    paper: { tauMMD: 0.4436, tauMSE: 0.3714 },
    budget: { epochs, maxSecondsPerRun: maxSeconds },
    runs: [...previous, ...results],
  };
  await mkdir(dirname(outFile), { recursive: true });
  const tmp = `${outFile}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(json, null, 2)}\n`);
  await rename(tmp, outFile);
}
