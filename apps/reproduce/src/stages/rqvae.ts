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
  /** Also fit the MSE-reconstruction twin (SE-SID-MSE) and RQ-KMeans, for the report. */
  extras: boolean;
}

export interface RqvaeSummary {
  exportDir: string;
  mseExportDir?: string;
  modalities: string[];
  reports: Record<string, Record<string, ModalityReport>>;
  seconds: Record<string, number>;
}

/** Rows 1..numItems of each (numItems + 1)-row table: the tokenizer sees items, not padding. */
function itemRows(m: Matrix): Matrix {
  return { rows: m.rows - 1, cols: m.cols, data: m.data.subarray(m.cols) };
}

/**
 * Trains the MM-RQ-VAE on every available modality (MMD reconstruction, the paper's default here),
 * exports semantic IDs + codebooks + quantised embeddings for the fine-tuning stage, and reports
 * collisions, usage and the forgetting tau over the test split's behavioural pairs. With `extras`
 * it also trains the MSE twin and RQ-KMeans under the same seed for the comparison.
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
  const inputs: ModalityInputs = Object.fromEntries(Object.entries(tables).map(([k, m]) => [k, itemRows(m)]));
  const modalities = Object.keys(inputs);
  const pairsAll = behaviouralPairs(leaveOneOut(dataset).test);
  // Pairs are item ids; the tokenizer's rows start at item 1.
  const pairs = { first: pairsAll.first.map((i) => i - 1), second: pairsAll.second.map((i) => i - 1) };
  const reports: RqvaeSummary['reports'] = {};
  const seconds: Record<string, number> = {};
  const train = async (label: string, reconstruction: 'mmd' | 'mse') => {
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
    seconds[label] = res.seconds;
    reports[label] = await tokenizerReport(model, inputs, { pairs });
    const dir = resolve(ctx.workDir, `${label}-export`);
    await exportSemanticIds(model, inputs, dir, {
      firstItemId: 1,
      metadata: { dataset: dataset.name, reconstruction },
    });
    model.dispose();
    return dir;
  };
  const exportDir = await train('mm-rqvae-mmd', cfg.reconstruction);
  let mseExportDir: string | undefined;
  if (cfg.extras) {
    mseExportDir = await train('mm-rqvae-mse', 'mse');
    const t0 = performance.now();
    const rqk = new RQKMeans({
      modalities: modalities.map((name) => ({ name, inputDim: inputs[name]!.cols })),
      levels: cfg.levels,
      codebookSize: cfg.codebookSize,
      seed: cfg.seed,
    });
    await rqk.fit(inputs);
    seconds['rq-kmeans'] = (performance.now() - t0) / 1000;
    reports['rq-kmeans'] = await tokenizerReport(rqk, inputs, { pairs });
    rqk.dispose();
  }
  for (const [label, r] of Object.entries(reports))
    for (const [m, rep] of Object.entries(r))
      ctx.log(
        `${label}/${m}: collisions ${rep.collisionRate.toFixed(4)}, tau(quantized) ${rep.tauQuantized?.toFixed(4) ?? 'n/a'}`,
      );
  return { exportDir, ...(mseExportDir ? { mseExportDir } : {}), modalities, reports, seconds };
}
