import { resolve } from 'node:path';
import { type Dataset, itemFrequency, leaveOneOut, type Matrix, saveAuthorsDataset } from '@mmesid/datasets';
import {
  createMmeSid,
  embeddingSpectra,
  evaluateMmeSid,
  exportRun,
  isVariantName,
  promptFromIds,
  sidDistanceTau,
  trainMmeSid,
  VARIANTS,
} from '@mmesid/fusion';
import { LlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { behaviouralPairs, flattenRankingMetrics } from '@mmesid/metrics';
import { loadExport } from '@mmesid/rqvae';
import { ConfigError, Rng } from '@mmesid/tensor';
import type { StageContext } from '../cache.js';
import type { VariantResult } from '../report/report.js';

export interface FinetuneConfig {
  variant: string;
  mode: 'paper' | 'efficient';
  epochs: number;
  microBatch: number;
  effectiveBatch: number;
  lr: number;
  maxTrainExamples?: number;
  maxUsers?: number;
  maxSeconds?: number;
  fusionTemperature?: number;
  seed: number;
  llama: string;
}

export interface FinetuneInputs {
  dataset: Dataset;
  tables: Record<string, Matrix>;
  rqvaeExportDir: string;
  mseExportDir: string;
  llamaDir: string | undefined;
}

/** Variants whose semantic IDs come from the MSE-reconstruction RQ-VAE. */
const MSE_VARIANTS = new Set(['SE-SID-MSE']);

/**
 * A seeded random tiny Llama (stories260k's shape) and a fixed id prompt, for machines without
 * ../shared: the pipeline still runs end to end, and the report says that the LLM is random.
 */
function randomTinyLlama(seed: number): { llama: LlamaModel; prompt: ReturnType<typeof promptFromIds> } {
  const cfg = parseLlamaConfig({
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 5,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    vocab_size: 512,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  });
  const llama = new LlamaModel(cfg, { rng: new Rng(`random-tiny-llama/${seed}`) });
  return {
    llama,
    prompt: promptFromIds([1, 259, 260, 261], [262, 263], 'random tiny Llama: fixed ids', 'plain'),
  };
}

/** Fine-tunes one variant, evaluates it on the test split and runs the paper's analyses. */
export async function runFinetune(
  ctx: StageContext,
  cfg: FinetuneConfig,
  inputs: FinetuneInputs,
): Promise<VariantResult> {
  const variant = cfg.variant === 'w/o-Fusion' ? 'w/o Fusion' : cfg.variant;
  if (!isVariantName(variant))
    throw new ConfigError(
      `unknown variant "${cfg.variant}"; known: SASRec, ${Object.keys(VARIANTS).join(', ')}`,
    );
  const { dataset } = inputs;
  const split = leaveOneOut(dataset);
  const frequency = itemFrequency(split.train, dataset.numItems);
  const semanticIds = await loadExport(
    MSE_VARIANTS.has(variant) ? inputs.mseExportDir : inputs.rqvaeExportDir,
  );
  const random = inputs.llamaDir ? null : randomTinyLlama(cfg.seed);
  const model = await createMmeSid({
    variant,
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
    const pairs = behaviouralPairs(split.test);
    // Variants without collaborative SID embeddings (E4SRec, ME, ...) have no forgetting tau.
    const hasSids = model.itemTokenizer.sidEmbedding('collaborative') !== undefined;
    const tauBefore = hasSids
      ? (await sidDistanceTau(model, inputs.tables.collaborative!, pairs)).tau
      : undefined;
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
        warmupSteps: 10,
        ...(cfg.maxTrainExamples ? { maxExamples: cfg.maxTrainExamples } : {}),
        ...(cfg.maxUsers ? { maxUsers: cfg.maxUsers } : {}),
        ...(cfg.maxSeconds ? { maxSeconds: cfg.maxSeconds } : {}),
        checkpointDir: resolve(ctx.workDir, 'checkpoint'),
      },
      { log: ctx.log },
    );
    ctx.log(train.modeNote);
    const evalRes = await evaluateMmeSid(model, split.test, { batchSize: 16 });
    const tauAfter =
      tauBefore !== undefined
        ? (await sidDistanceTau(model, inputs.tables.collaborative!, pairs)).tau
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
      trainableParameters: train.parameters.trainable,
      totalParameters: train.parameters.all,
      ...(tauBefore !== undefined && tauAfter !== undefined
        ? { tau: { before: tauBefore, after: tauAfter } }
        : {}),
      spectra: {
        'item tokens': Array.from(spectra.itemTokens.normalized),
        'target table': Array.from(spectra.targetTable.normalized),
      },
    };
  } finally {
    model.dispose();
  }
}
