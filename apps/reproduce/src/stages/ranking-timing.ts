import { resolve } from 'node:path';
import { type Dataset, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import { flattenRankingMetrics } from '@mmesid/metrics';
import {
  evaluateRanking,
  loadWeights,
  popularityScorer,
  SASREC_CHECKPOINT_FORMAT,
  SASRec,
  sasrecConfig,
  sasrecScorer,
  type TrainingState,
} from '@mmesid/sasrec';
import { readTrainingCheckpoint, TRAINING_CHECKPOINT_FILES } from '@mmesid/tensor';
import { RunDirError, type StageContext } from '../cache.js';
import type { SasrecSummary } from './sasrec.js';

/** The users per batch of both timed evaluations: `evaluateRanking`'s default, what the sasrec stage used. */
export const RANKING_TIMING_BATCH = 512;

/** Wall time of one baseline's full ranking of the test split. */
export interface RankingTiming {
  msPerUser: number;
  users: number;
  batchSize: number;
  /** Largest |difference| between the metrics of this evaluation and the sasrec stage's own. */
  maxMetricDifference: number;
}

export interface RankingTimingSummary {
  sasrec: RankingTiming;
  popularity: RankingTiming;
}

/**
 * Loads the SASRec a finished sasrec stage evaluated: its architecture from the training
 * checkpoint's `trainer_state.json`, its weights from `best.safetensors` when the run restored the
 * best validated weights (as `trainSasrec` does with `restoreBest`), else `model.safetensors`.
 */
export async function loadStageSasrec(sasrecStageDir: string): Promise<SASRec> {
  const checkpointDir = resolve(sasrecStageDir, 'checkpoint');
  const found = await readTrainingCheckpoint<TrainingState>(checkpointDir, SASREC_CHECKPOINT_FORMAT);
  if (!found)
    throw new RunDirError(
      resolve(checkpointDir, TRAINING_CHECKPOINT_FILES.dir),
      'no SASRec training checkpoint: the sasrec stage that made this table kept none; delete the stage folder to train it again',
    );
  const useBest = found.state.train.restoreBest && found.state.best !== null;
  const file = resolve(
    found.dir,
    useBest ? TRAINING_CHECKPOINT_FILES.best : TRAINING_CHECKPOINT_FILES.weights,
  );
  const model = new SASRec(sasrecConfig(found.state.model), { skipInit: true });
  try {
    await loadWeights(model, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

function maxDifference(a: Record<string, number>, b: Record<string, number>): number {
  let d = 0;
  for (const k of Object.keys(b)) d = Math.max(d, Math.abs((a[k] ?? Number.NaN) - b[k]!));
  return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
}

/**
 * Times the SASRec and popularity rows' full ranking of the test split (paper Sec. 4.4 compares
 * the retrieval cost of every method), as a stage of its own so that a finished sasrec stage (and
 * its cached summary) is reused unchanged: the model is reloaded from the stage's checkpoint and
 * evaluated again, exactly as the sasrec stage evaluated it (`evaluateRanking`, batches of
 * {@link RANKING_TIMING_BATCH}). The metrics must come out as the stage's own, which checks that
 * the timed model is the one reported; a difference above `tolerance` throws.
 */
export async function runRankingTiming(
  ctx: StageContext,
  sasrec: { dir: string; summary: SasrecSummary },
  dataset: Dataset,
  tolerance = 1e-3,
): Promise<RankingTimingSummary> {
  const split = leaveOneOut(dataset);
  const users = split.test.length;
  // Times one scorer's full ranking of the test split and compares its metrics with the cached ones.
  const timed = async (
    scorer: Parameters<typeof evaluateRanking>[0],
    cached: Record<string, number>,
  ): Promise<RankingTiming> => {
    const t0 = performance.now();
    const m = await evaluateRanking(scorer, split.test, { batchSize: RANKING_TIMING_BATCH });
    const ms = performance.now() - t0;
    return {
      msPerUser: ms / Math.max(1, users),
      users,
      batchSize: RANKING_TIMING_BATCH,
      maxMetricDifference: maxDifference(flattenRankingMetrics(m), cached),
    };
  };
  const model = await loadStageSasrec(sasrec.dir);
  let sasrecTiming: RankingTiming;
  try {
    sasrecTiming = await timed(sasrecScorer(model), sasrec.summary.test);
  } finally {
    model.dispose();
  }
  const pop = popularityScorer(itemFrequency(split.train, dataset.numItems));
  let popTiming: RankingTiming;
  try {
    popTiming = await timed(pop, sasrec.summary.popularity);
  } finally {
    pop.dispose();
  }
  for (const [name, t] of [
    ['SASRec', sasrecTiming],
    ['popularity', popTiming],
  ] as const)
    if (!(t.maxMetricDifference <= tolerance))
      throw new RunDirError(
        resolve(sasrec.dir, 'stage.json'),
        `${name} evaluated again differs from the stage's own test metrics by ${t.maxMetricDifference} (> ${tolerance}): the checkpoint is not the model the stage reported; delete the stage folder to train it again`,
      );
  ctx.log(
    `full ranking of ${users} test users: SASRec ${sasrecTiming.msPerUser.toFixed(2)} ms/user, popularity ${popTiming.msPerUser.toFixed(3)} ms/user ` +
      `(metrics as the sasrec stage's within ${Math.max(sasrecTiming.maxMetricDifference, popTiming.maxMetricDifference).toExponential(1)})`,
  );
  return { sasrec: sasrecTiming, popularity: popTiming };
}
