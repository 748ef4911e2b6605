// Per-user ranks for stages that finished before stages saved them (report/same-users.ts): the
// model is reloaded from what the stage saved and the test split evaluated again, in a stage of its
// own keyed on the stage it reads, so that no existing stage's key changes (a changed key would
// train it again). The metrics of the new evaluation are compared with the ones the stage stored.
import { resolve } from 'node:path';
import { type Dataset, itemFrequency, leaveOneOut } from '@mmesid/datasets';
import { evaluateMmeSid, loadRun } from '@mmesid/fusion';
import { flattenRankingMetrics, metricsFromRanks } from '@mmesid/metrics';
import { evaluateRanking, popularityScorer, sasrecScorer } from '@mmesid/sasrec';
import { RunDirError, type StageContext } from '../cache.js';
import { POPULARITY_RANKS_FILE, saveRanks, TEST_RANKS_FILE } from '../report/same-users.js';
import { FINETUNE_EVAL } from './finetune.js';
import { loadStageSasrec, RANKING_TIMING_BATCH } from './ranking-timing.js';

/** The cut-offs whose hit counts the check reports. */
const HIT_KS = [5, 10, 20] as const;

/** The backfill stage of a fine-tuning stage: `ranks-<its folder name>`, keyed on `{ finetune: its hash }`. */
export function finetuneRanksStage(finetuneStage: string): string {
  return `ranks-${finetuneStage}`;
}
/** What the fine-tuning backfill runs (its stage config): today's evaluation of `runFinetune`. */
export const FINETUNE_RANKS_CONFIG = { evaluation: 'evaluateMmeSid', ...FINETUNE_EVAL } as const;
/** The SASRec and popularity backfill, keyed on `{ sasrec: the sasrec stage's hash }`. */
export const SASREC_RANKS_STAGE = 'ranks-sasrec';
export const SASREC_RANKS_CONFIG = {
  evaluation: 'evaluateRanking',
  batchSize: RANKING_TIMING_BATCH,
} as const;

/**
 * How the metrics of the backfilled ranks compare with the metrics the stage stored when it ran
 * (over all test users): they differ only where the two evaluations break float32 ties differently.
 */
export interface RanksCheck {
  users: number;
  /** Users with the target within the top k: the stored HR@k x users (rounded) and the new ranks' count. */
  hits: Record<string, { stored: number; recomputed: number }>;
  /** Recomputed minus stored, per metric ("HR@10", ..., "meanRank"). */
  delta: Record<string, number>;
  /** The largest |delta| over every metric but the mean rank. */
  maxAbsDelta: number;
}

/** The summary of a backfill stage: where its ranks are, and the check. */
export interface RanksBackfill extends RanksCheck {
  /** The stage folder whose model was evaluated again. */
  source: string;
  file: string;
  evaluation: string;
}

/** Compares the metrics of `ranks` with `stored` (a stage's flattened test metrics). */
export function checkRanks(ranks: Int32Array, stored: Record<string, number>): RanksCheck {
  const users = ranks.length;
  const hits: RanksCheck['hits'] = {};
  for (const k of HIT_KS) {
    let n = 0;
    for (const r of ranks) if (r <= k) n++;
    const s = stored[`HR@${k}`];
    hits[`@${k}`] = { stored: s === undefined ? Number.NaN : Math.round(s * users), recomputed: n };
  }
  // What the evaluators compute over the ranks they collected, over the new ranks.
  const mine = flattenRankingMetrics(metricsFromRanks(ranks));
  const delta: Record<string, number> = {};
  let maxAbsDelta = 0;
  for (const [k, v] of Object.entries(stored)) {
    if (k === 'users' || mine[k] === undefined) continue;
    delta[k] = mine[k] - v;
    if (k !== 'meanRank') maxAbsDelta = Math.max(maxAbsDelta, Math.abs(delta[k]));
  }
  return { users, hits, delta, maxAbsDelta };
}

/**
 * A check far outside float32 ties means the reloaded model is not the one the stage evaluated:
 * its mean rank moves by more than 1% (ties move a few dozen users by a rank or two).
 */
function assertSameModel(
  check: RanksCheck,
  stored: Record<string, number>,
  what: string,
  file: string,
): void {
  const m = stored.meanRank;
  const d = check.delta.meanRank;
  if (m !== undefined && d !== undefined && !(Math.abs(d) <= 0.01 * m))
    throw new RunDirError(
      file,
      `${what} evaluated again has mean rank ${(m + d).toFixed(2)}, the stage stored ${m.toFixed(2)}: the saved model is not the one the stage evaluated; delete the stage folder to train it again`,
    );
}

/**
 * Reloads a finished fine-tuning stage's exported model (`export/`, written by `runFinetune`
 * after its evaluation), evaluates the test split as `runFinetune` does today and saves the
 * per-user ranks in this stage's folder ({@link TEST_RANKS_FILE}).
 */
export async function runFinetuneRanks(
  ctx: StageContext,
  finetune: { dir: string; summary: { variant: string; metrics: Record<string, number> } },
  dataset: Dataset,
): Promise<RanksBackfill> {
  const split = leaveOneOut(dataset);
  const model = await loadRun(resolve(finetune.dir, 'export'));
  let ranks: Int32Array;
  try {
    const t0 = performance.now();
    ranks = (await evaluateMmeSid(model, split.test, FINETUNE_EVAL)).ranks;
    ctx.log(
      `${finetune.summary.variant}: ${split.test.length} test users evaluated again in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    model.dispose();
  }
  const stored = finetune.summary.metrics;
  const check = checkRanks(ranks, stored);
  assertSameModel(check, stored, finetune.summary.variant, resolve(finetune.dir, 'stage.json'));
  saveRanks(resolve(ctx.workDir, TEST_RANKS_FILE), ranks);
  ctx.log(describeCheck(finetune.summary.variant, check));
  return {
    source: finetune.dir,
    file: TEST_RANKS_FILE,
    evaluation: `evaluateMmeSid (frozen scorer), batches of ${FINETUNE_EVAL.batchSize} users / ${FINETUNE_EVAL.batchTokens} tokens`,
    ...check,
  };
}

/**
 * Reloads a finished sasrec stage's SASRec (as the ranking-timing stage does) and evaluates it and
 * the popularity baseline as the sasrec stage did, saving both rows' per-user ranks.
 */
export async function runSasrecRanks(
  ctx: StageContext,
  sasrec: { dir: string; summary: { test: Record<string, number>; popularity: Record<string, number> } },
  dataset: Dataset,
): Promise<{ sasrec: RanksBackfill; popularity: RanksBackfill }> {
  const split = leaveOneOut(dataset);
  const evaluation = `evaluateRanking, batches of ${RANKING_TIMING_BATCH} users (as the sasrec stage)`;
  const record = resolve(sasrec.dir, 'stage.json');
  const one = async (
    what: string,
    scorer: Parameters<typeof evaluateRanking>[0],
    stored: Record<string, number>,
    file: string,
  ): Promise<RanksBackfill> => {
    let ranks: Int32Array | undefined;
    await evaluateRanking(scorer, split.test, {
      batchSize: RANKING_TIMING_BATCH,
      onRanks: (r) => {
        ranks = r;
      },
    });
    if (!ranks) throw new Error(`${what}: evaluateRanking gave no ranks`);
    const check = checkRanks(ranks, stored);
    assertSameModel(check, stored, what, record);
    saveRanks(resolve(ctx.workDir, file), ranks);
    ctx.log(describeCheck(what, check));
    return { source: sasrec.dir, file, evaluation, ...check };
  };
  const model = await loadStageSasrec(sasrec.dir);
  let s: RanksBackfill;
  try {
    s = await one('SASRec', sasrecScorer(model), sasrec.summary.test, TEST_RANKS_FILE);
  } finally {
    model.dispose();
  }
  const pop = popularityScorer(itemFrequency(split.train, dataset.numItems));
  try {
    return {
      sasrec: s,
      popularity: await one('Popularity', pop, sasrec.summary.popularity, POPULARITY_RANKS_FILE),
    };
  } finally {
    pop.dispose();
  }
}

/** One line: the hit counts and the largest metric difference. */
export function describeCheck(what: string, c: RanksCheck): string {
  const hits = Object.entries(c.hits)
    .map(([k, h]) => `HR${k} ${h.recomputed} (stored ${h.stored})`)
    .join(', ');
  return `${what}: ranks of ${c.users} users re-evaluated: hits ${hits}; max |delta| ${c.maxAbsDelta.toExponential(2)}, mean rank ${(c.delta.meanRank ?? Number.NaN) >= 0 ? '+' : ''}${(c.delta.meanRank ?? Number.NaN).toFixed(3)}`;
}
