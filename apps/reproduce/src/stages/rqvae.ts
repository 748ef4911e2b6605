import { resolve } from 'node:path';
import type { Dataset, Matrix } from '@mmesid/datasets';
import { leaveOneOut } from '@mmesid/datasets';
import { behaviouralPairs } from '@mmesid/metrics';
import {
  exportSemanticIds,
  formatEpoch,
  MMRQVAE,
  type ModalityInputs,
  type ModalityReport,
  RQKMeans,
  type RqvaeConfigInput,
  tokenizerReport,
  trainRqvae,
} from '@mmesid/rqvae';
import type { StageContext } from '../cache.js';
import { StageGuardError } from './guard.js';

export interface RqvaeStageConfig {
  levels: number;
  codebookSize: number;
  eDim: number;
  hiddenLayers: number[];
  reconstruction: 'mmd' | 'mse';
  alignment: 'infonce' | 'mmd' | 'none';
  maxEpochs: number;
  /** Unused (0): kept so cached stage keys stay comparable; the guard is passed to runRqvae. */
  maxSeconds: number;
  batchSize: number;
  seed: number;
  /**
   * Optional validation early stopping on held-out items (`@mmesid/rqvae`'s `validationFraction`),
   * with this patience in epochs. The presets leave it unset: the authors quantise every item and
   * keep the epoch of lowest training loss, which the stage does by default.
   */
  validation?: { fraction: number; patience: number };
  /** Further MM-RQ-VAE options (init, k-means iterations, loss weights, ...), passed as they are. */
  model?: Partial<Omit<RqvaeConfigInput, 'modalities'>>;
  /**
   * Always false: the MSE twin and RQ-KMeans are the `rqvae-extras` stage ({@link runRqvaeExtras}).
   * Kept in the key so that rqvae stages cached before they moved there (with `--no-rqvae-extras`)
   * keep their hash, and with it every fine-tuning stage that reads them.
   */
  extras: false;
}

/** The `rqvae-extras` stage's config: the rqvae stage's, without `extras`. */
export type RqvaeExtrasConfig = Omit<RqvaeStageConfig, 'extras'>;

export interface RqvaeSummary {
  exportDir: string;
  /** Set by stages cached before the MSE twin moved to the `rqvae-extras` stage. */
  mseExportDir?: string;
  modalities: string[];
  reports: Record<string, Record<string, ModalityReport>>;
  seconds: Record<string, number>;
}

/** Rows 1..numItems of each (numItems + 1)-row table: the tokenizer sees items, not padding. */
function itemRows(m: Matrix): Matrix {
  return { rows: m.rows - 1, cols: m.cols, data: m.data.subarray(m.cols) };
}

/** What both stages share: the tokenizer's inputs (item rows) and the test split's behavioural pairs. */
function tokenizerInputs(dataset: Dataset, tables: Record<string, Matrix>) {
  const inputs: ModalityInputs = Object.fromEntries(Object.entries(tables).map(([k, m]) => [k, itemRows(m)]));
  const modalities = Object.keys(inputs);
  const pairsAll = behaviouralPairs(leaveOneOut(dataset).test);
  // Pairs are item ids; the tokenizer's rows start at item 1.
  const pairs = { first: pairsAll.first.map((i) => i - 1), second: pairsAll.second.map((i) => i - 1) };
  return { inputs, modalities, pairs };
}

/**
 * Trains one MM-RQ-VAE (`label`: its checkpoint and export folders in the stage's work directory),
 * reports it and exports its semantic IDs; returns the export folder.
 */
async function trainTokenizer(
  ctx: StageContext,
  cfg: RqvaeExtrasConfig,
  dataset: Dataset,
  data: ReturnType<typeof tokenizerInputs>,
  label: string,
  reconstruction: 'mmd' | 'mse',
  guardMinutes: number,
  run: { checkpointEvery?: number },
): Promise<{ dir: string; report: Record<string, ModalityReport>; seconds: number }> {
  const { inputs, modalities, pairs } = data;
  const model = new MMRQVAE({
    ...(cfg.model ?? {}),
    modalities: modalities.map((name) => ({ name, inputDim: inputs[name]!.cols })),
    eDim: cfg.eDim,
    hiddenLayers: cfg.hiddenLayers,
    levels: cfg.levels,
    codebookSize: cfg.codebookSize,
    // The authors balance only the last level with Sinkhorn (epsilon 0.003).
    sinkhornEpsilons: Array.from({ length: cfg.levels }, (_, i) => (i === cfg.levels - 1 ? 0.003 : 0)),
    reconstruction,
    alignment: modalities.length > 1 ? cfg.alignment : 'none',
    seed: cfg.seed,
  });
  const res = await trainRqvae(
    model,
    inputs,
    {
      maxEpochs: cfg.maxEpochs,
      maxSeconds: guardMinutes * 60,
      batchSize: cfg.batchSize,
      seed: cfg.seed,
      ...(cfg.validation
        ? { validationFraction: cfg.validation.fraction, patience: cfg.validation.patience }
        : {}),
      checkpointDir: resolve(ctx.workDir, `${label}-checkpoint`),
      ...(run.checkpointEvery !== undefined ? { checkpointEvery: run.checkpointEvery } : {}),
    },
    {
      log: (report, last) =>
        last || report.epoch % 25 === 0 ? ctx.log(`${label}: ${formatEpoch(report)}`) : undefined,
    },
  );
  if (res.stoppedBy === 'maxSeconds') {
    model.dispose();
    throw new StageGuardError(`rqvae (${label})`, guardMinutes, `${res.epochs} of ${cfg.maxEpochs} epochs`);
  }
  const report = await tokenizerReport(model, inputs, { pairs });
  const dir = resolve(ctx.workDir, `${label}-export`);
  await exportSemanticIds(model, inputs, dir, {
    firstItemId: 1,
    metadata: { dataset: dataset.name, reconstruction },
  });
  model.dispose();
  return { dir, report, seconds: res.seconds };
}

function logReports(ctx: StageContext, reports: RqvaeSummary['reports']): void {
  for (const [label, r] of Object.entries(reports))
    for (const [m, rep] of Object.entries(r))
      ctx.log(
        `${label}/${m}: collisions ${rep.collisionRate.toFixed(4)}, tau(quantized) ${rep.tauQuantized?.toFixed(4) ?? 'n/a'}`,
      );
}

/**
 * Trains the MM-RQ-VAE on every available modality (MMD reconstruction, the paper's default here),
 * exports semantic IDs + codebooks + quantised embeddings for the fine-tuning stage, and reports
 * collisions, usage and the forgetting tau over the test split's behavioural pairs. The MSE twin
 * and RQ-KMeans are a stage of their own ({@link runRqvaeExtras}).
 */
export async function runRqvae(
  ctx: StageContext,
  cfg: RqvaeStageConfig,
  dataset: Dataset,
  tables: Record<string, Matrix>,
  guardMinutes: number,
  /** Checkpoint interval in epochs (default 50); not part of the stage's cache key. */
  run: { checkpointEvery?: number } = {},
): Promise<RqvaeSummary> {
  const data = tokenizerInputs(dataset, tables);
  const label = 'mm-rqvae-mmd';
  const mmd = await trainTokenizer(ctx, cfg, dataset, data, label, cfg.reconstruction, guardMinutes, run);
  const reports = { [label]: mmd.report };
  logReports(ctx, reports);
  return { exportDir: mmd.dir, modalities: data.modalities, reports, seconds: { [label]: mmd.seconds } };
}

/** What the `rqvae-extras` stage leaves: the MSE twin's export and both tokenizers' reports. */
export interface RqvaeExtrasSummary {
  mseExportDir: string;
  modalities: string[];
  /** `mm-rqvae-mse` and `rq-kmeans`, as the rqvae stage's `reports`. */
  reports: Record<string, Record<string, ModalityReport>>;
  seconds: Record<string, number>;
}

/**
 * The MM-RQ-VAE's comparisons, under the rqvae stage's config and seed: its MSE-reconstruction twin
 * (exported in `mm-rqvae-mse-export`: SE-SID-MSE's semantic IDs) and RQ-KMeans, with the same
 * reports (the MMD-vs-MSE tau claim). A stage of its own, keyed on the rqvae stage, so that adding
 * it to a run leaves the rqvae stage and every fine-tuning stage that reads it cached.
 */
export async function runRqvaeExtras(
  ctx: StageContext,
  cfg: RqvaeExtrasConfig,
  dataset: Dataset,
  tables: Record<string, Matrix>,
  guardMinutes: number,
  run: { checkpointEvery?: number } = {},
): Promise<RqvaeExtrasSummary> {
  const data = tokenizerInputs(dataset, tables);
  const { inputs, modalities, pairs } = data;
  const mse = await trainTokenizer(ctx, cfg, dataset, data, 'mm-rqvae-mse', 'mse', guardMinutes, run);
  const t0 = performance.now();
  const rqk = new RQKMeans({
    modalities: modalities.map((name) => ({ name, inputDim: inputs[name]!.cols })),
    levels: cfg.levels,
    codebookSize: cfg.codebookSize,
    seed: cfg.seed,
  });
  await rqk.fit(inputs);
  const rqkSeconds = (performance.now() - t0) / 1000;
  const rqkReport = await tokenizerReport(rqk, inputs, { pairs });
  rqk.dispose();
  const reports = { 'mm-rqvae-mse': mse.report, 'rq-kmeans': rqkReport };
  logReports(ctx, reports);
  return {
    mseExportDir: mse.dir,
    modalities,
    reports,
    seconds: { 'mm-rqvae-mse': mse.seconds, 'rq-kmeans': rqkSeconds },
  };
}
