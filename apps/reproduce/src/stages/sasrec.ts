import { resolve } from 'node:path';
import { type Dataset, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import { flattenRankingMetrics } from '@mmesid/metrics';
import {
  evaluateRanking,
  exportItemEmbeddings,
  popularityScorer,
  sasrecScorer,
  trainSasrec,
} from '@mmesid/sasrec';
import type { StageContext } from '../cache.js';
import { POPULARITY_RANKS_FILE, saveRanks, TEST_RANKS_FILE } from '../report/same-users.js';
import { StageGuardError } from './guard.js';

export interface SasrecStageConfig {
  d: number;
  blocks: number;
  dropout: number;
  epochs: number;
  patience: number;
  seed: number;
  /** Training recipe beyond the reference defaults (BCE, one negative, batch 128, lr 1e-3). */
  recipe?: {
    loss: 'bce' | 'sampled-softmax';
    negatives: number;
    batchSize: number;
    lr: number;
    evalEvery: number;
    validUsers?: number;
  };
}

export interface SasrecSummary {
  tableFile: string;
  epochs: number;
  trainSeconds: number;
  examplesPerSecond: number;
  stoppedBy: string;
  test: Record<string, number>;
  popularity: Record<string, number>;
}

/**
 * Trains SASRec (the collaborative modality and the SASRec baseline row), evaluates it and the
 * popularity baseline on the test split, and exports the item table (`sasrec_item_emb.safetensors`).
 */
export async function runSasrec(
  ctx: StageContext,
  cfg: SasrecStageConfig,
  dataset: Dataset,
  guardMinutes: number,
): Promise<SasrecSummary> {
  const res = await trainSasrec({
    data: dataset,
    model: { hiddenUnits: cfg.d, numBlocks: cfg.blocks, dropout: cfg.dropout },
    train: {
      seed: cfg.seed,
      epochs: cfg.epochs,
      patience: cfg.patience,
      maxMinutes: guardMinutes,
      ...(cfg.recipe ?? {}),
    },
    checkpointDir: resolve(ctx.workDir, 'checkpoint'),
    progress: {
      write: (s: string) => {
        ctx.log(s.trimEnd());
        return true;
      },
    },
  });
  if (res.stoppedBy === 'time') {
    res.model.dispose();
    throw new StageGuardError('sasrec', guardMinutes, `${res.epochsDone} of at most ${cfg.epochs} epochs`);
  }
  const split = leaveOneOut(dataset);
  // Each user's rank is saved, to compare these rows with sampled rows on the same users (report/same-users.ts).
  const test = await evaluateRanking(sasrecScorer(res.model), split.test, {
    onRanks: (r) => saveRanks(resolve(ctx.workDir, TEST_RANKS_FILE), r),
  });
  const pop = popularityScorer(itemFrequency(split.train, dataset.numItems));
  const popularity = await evaluateRanking(pop, split.test, {
    onRanks: (r) => saveRanks(resolve(ctx.workDir, POPULARITY_RANKS_FILE), r),
  });
  pop.dispose();
  const { table } = await exportItemEmbeddings(res.model, ctx.workDir, { dataset: dataset.name });
  res.model.dispose();
  ctx.log(
    `test HR@10 ${test.hr[10]?.toFixed(4)} nDCG@10 ${test.ndcg[10]?.toFixed(4)} (popularity HR@10 ${popularity.hr[10]?.toFixed(4)})`,
  );
  return {
    tableFile: table,
    epochs: res.epochsDone,
    trainSeconds: res.trainSeconds,
    examplesPerSecond: res.examplesPerSecond,
    stoppedBy: res.stoppedBy,
    test: flattenRankingMetrics(test),
    popularity: flattenRankingMetrics(popularity),
  };
}
