import { resolve } from 'node:path';
import { type Dataset, itemFrequency, leaveOneOut, type Matrix, saveAuthorsDataset } from '@mmesid/datasets';
import {
  createMmeSid,
  embeddingSpectra,
  evaluateMmeSid,
  exportRun,
  promptFromIds,
  sidDistanceTau,
  trainMmeSid,
} from '@mmesid/fusion';
import { LlamaModel } from '@mmesid/llama';
import { behaviouralPairs, flattenRankingMetrics } from '@mmesid/metrics';
import { loadExport } from '@mmesid/rqvae';
import { Rng } from '@mmesid/tensor';
import type { StageContext } from '../cache.js';
import type { TauReading, VariantResult } from '../report/report.js';
import { saveRanks, TEST_RANKS_FILE } from '../report/same-users.js';
import { needsMseTwin, parseVariantOption } from '../variant-option.js';
import { StageGuardError } from './guard.js';
import { RANDOM_TINY_PROMPT, randomTinyLlamaConfig } from './random-llama.js';

export interface FinetuneConfig {
  variant: string;
  mode: 'paper' | 'efficient';
  epochs: number;
  microBatch: number;
  effectiveBatch: number;
  lr: number;
  maxTrainExamples?: number;
  maxUsers?: number;
  /** Table 4's warm-up steps (paper preset) or the same fraction of the run (tiny). */
  warmupSteps?: number;
  warmupFraction?: number;
  fusionTemperature?: number;
  /** Validation early stopping (see the preset's `finetune.validation`). */
  validation?: { perEpoch: number; patience: number; maxUsers?: number };
  seed: number;
  llama: string;
}

/**
 * The test evaluation's batching (users per batch, padded tokens per batch). Not part of the stage's
 * key: it changes the order of float32 sums only. The ranks backfill (ranks.ts) evaluates the same way.
 */
export const FINETUNE_EVAL = { batchSize: 64, batchTokens: 1024 } as const;

export interface FinetuneInputs {
  dataset: Dataset;
  tables: Record<string, Matrix>;
  rqvaeExportDir: string;
  /** The MSE twin's export (`rqvae-extras` stage); needed by SE-SID-MSE only. */
  mseExportDir?: string;
  llamaDir: string | undefined;
}

/**
 * A seeded random tiny Llama (stories260k's shape) and a fixed id prompt, for machines without
 * ../shared: the pipeline still runs end to end, and the report says that the LLM is random.
 */
function randomTinyLlama(seed: number): { llama: LlamaModel; prompt: ReturnType<typeof promptFromIds> } {
  const cfg = randomTinyLlamaConfig();
  const llama = new LlamaModel(cfg, { rng: new Rng(`random-tiny-llama/${seed}`) });
  return {
    llama,
    prompt: promptFromIds(
      [...RANDOM_TINY_PROMPT.prefix],
      [...RANDOM_TINY_PROMPT.suffix],
      'random tiny Llama: fixed ids',
      'plain',
    ),
  };
}

/** Fine-tunes one variant, evaluates it on the test split and runs the paper's analyses. */
export async function runFinetune(
  ctx: StageContext,
  cfg: FinetuneConfig,
  inputs: FinetuneInputs,
  guardMinutes: number,
  /** Checkpoint interval in optimiser steps (default 10); not part of the stage's cache key. */
  run: { checkpointEvery?: number } = {},
): Promise<VariantResult> {
  const { variant, reading } = parseVariantOption(cfg.variant);
  const { dataset } = inputs;
  const split = leaveOneOut(dataset);
  const frequency = itemFrequency(split.train, dataset.numItems);
  if (needsMseTwin([variant]) && !inputs.mseExportDir)
    throw new Error(`${variant} reads the MSE twin's semantic IDs, but the rqvae-extras stage did not run`);
  const semanticIds = await loadExport(
    needsMseTwin([variant]) ? inputs.mseExportDir! : inputs.rqvaeExportDir,
  );
  const random = inputs.llamaDir ? null : randomTinyLlama(cfg.seed);
  const model = await createMmeSid({
    variant,
    reading,
    config: {
      seed: cfg.seed,
      itemsAtEnd: cfg.mode === 'efficient',
      ...(cfg.fusionTemperature !== undefined ? { fusion: { temperature: cfg.fusionTemperature } } : {}),
    },
    numItems: dataset.numItems,
    tables: inputs.tables,
    semanticIds,
    frequency,
    llama: random ? random.llama : inputs.llamaDir!,
    ...(random ? { prompt: random.prompt } : {}),
    log: ctx.log,
  });
  try {
    // Both readings of the paper's behavioural-target pairs.
    const readings = {
      last: behaviouralPairs(split.test),
      all: behaviouralPairs(split.test, { reading: 'all' }),
    };
    // Variants without collaborative SID embeddings (E4SRec, ME, ...) have no forgetting tau.
    const hasSids = model.itemTokenizer.sidEmbedding('collaborative') !== undefined;
    const taus = async () => {
      const out: Record<string, { tauA: number; tauB: number; pairs: number }> = {};
      for (const [k, pairs] of Object.entries(readings)) {
        const r = await sidDistanceTau(model, inputs.tables.collaborative!, pairs);
        out[k] = { tauA: r.tauA, tauB: r.tau, pairs: r.pairs };
      }
      return out;
    };
    const before = hasSids ? await taus() : undefined;
    const tauBefore = before?.last?.tauB;
    const train = await trainMmeSid(
      model,
      split.train,
      {
        mode: cfg.mode,
        epochs: cfg.epochs,
        lr: cfg.lr,
        microBatch: cfg.microBatch,
        effectiveBatch: cfg.effectiveBatch,
        seed: cfg.seed,
        warmupSteps: cfg.warmupSteps ?? 0,
        ...(cfg.warmupFraction !== undefined ? { warmupFraction: cfg.warmupFraction } : {}),
        ...(cfg.maxTrainExamples ? { maxExamples: cfg.maxTrainExamples } : {}),
        ...(cfg.maxUsers ? { maxUsers: cfg.maxUsers } : {}),
        maxSeconds: guardMinutes * 60,
        checkpointDir: resolve(ctx.workDir, 'checkpoint'),
        // A kill loses at most 10 optimiser steps (seconds in the tiny preset, a few minutes at
        // paper scale); the interval is not part of what a resume compares.
        checkpointEvery: run.checkpointEvery ?? 10,
        ...(cfg.validation
          ? {
              validationsPerEpoch: cfg.validation.perEpoch,
              patience: cfg.validation.patience,
              ...(cfg.validation.maxUsers ? { maxValidationUsers: cfg.validation.maxUsers } : {}),
            }
          : {}),
      },
      { log: ctx.log },
      cfg.validation ? split.valid : [],
    );
    if (train.stoppedBy === 'maxSeconds')
      throw new StageGuardError(
        `finetune ${cfg.variant}`,
        guardMinutes,
        `${train.optimizerSteps} of ${train.totalSteps} optimiser steps`,
      );
    ctx.log(train.modeNote);
    if (train.validation)
      ctx.log(
        `${variant}: validation ${train.validation.metric} on ${train.validation.pairs} users every ${train.validation.every} steps: ` +
          `best ${train.validation.best.toFixed(4)} at step ${train.validation.bestStep} of ${train.totalSteps}, stopped by ${train.stoppedBy} at step ${train.optimizerSteps}`,
      );
    const tEval = performance.now();
    // Length-sorted batches through the frozen scorer (see @mmesid/fusion's evaluateMmeSid and
    // benchmarks/results/speed-eval.json: about 4x less CPU per user than model.score in batches of 16).
    const evalRes = await evaluateMmeSid(model, split.test, FINETUNE_EVAL);
    const msPerUser = (performance.now() - tEval) / Math.max(1, split.test.length);
    // Each user's rank, to compare this row with sampled rows on the same users (report/same-users.ts).
    saveRanks(resolve(ctx.workDir, TEST_RANKS_FILE), evalRes.ranks);
    const after = hasSids ? await taus() : undefined;
    const tauAfter = after?.last?.tauB;
    const tauReadings: TauReading[] | undefined =
      before && after
        ? (['last', 'all'] as const).map((reading) => ({
            reading,
            pairs: before[reading]!.pairs,
            before: { tauA: before[reading]!.tauA, tauB: before[reading]!.tauB },
            after: { tauA: after[reading]!.tauA, tauB: after[reading]!.tauB },
          }))
        : undefined;
    const spectra = await embeddingSpectra(model);
    await exportRun(model, resolve(ctx.workDir, 'export'), {
      metadata: { variant, dataset: dataset.name, metrics: flattenRankingMetrics(evalRes.metrics) },
    });
    // Titles and test users for apps/web (after exportRun, which replaces the folder).
    await saveAuthorsDataset(resolve(ctx.workDir, 'export', 'data'), dataset);
    ctx.log(
      `${variant}: test HR@10 ${evalRes.metrics.hr[10]?.toFixed(4)} nDCG@10 ${evalRes.metrics.ndcg[10]?.toFixed(4)}`,
    );
    return {
      variant,
      metrics: flattenRankingMetrics(evalRes.metrics),
      mode: train.mode,
      modeNote: train.modeNote,
      trainExamples: train.examplesSeen,
      trainSeconds: train.seconds,
      ...(train.validation
        ? {
            earlyStopping: {
              metric: train.validation.metric,
              users: train.validation.pairs,
              every: train.validation.every,
              bestStep: train.validation.bestStep,
              best: train.validation.best,
              stoppedAt: train.optimizerSteps,
              totalSteps: train.totalSteps,
              stoppedBy: train.stoppedBy,
            },
          }
        : {}),
      trainableParameters: train.parameters.trainable,
      totalParameters: train.parameters.all,
      retrieval: { kind: 'full ranking', msPerUser, users: split.test.length },
      ...(tauBefore !== undefined && tauAfter !== undefined
        ? { tau: { before: tauBefore, after: tauAfter } }
        : {}),
      ...(tauReadings ? { tauReadings } : {}),
      spectra: {
        'item tokens': Array.from(spectra.itemTokens.normalized),
        'target table': Array.from(spectra.targetTable.normalized),
      },
    };
  } finally {
    model.dispose();
  }
}
