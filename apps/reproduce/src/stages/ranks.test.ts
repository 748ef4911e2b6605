import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateSynthetic, type Matrix } from '@mmesid/datasets';
import { flattenRankingMetrics, metricsFromRanks } from '@mmesid/metrics';
import { Rng } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { RunDirError, runStage } from '../cache.js';
import type { VariantResult } from '../report/report.js';
import { loadRanks, POPULARITY_RANKS_FILE, TEST_RANKS_FILE } from '../report/same-users.js';
import { type FinetuneConfig, runFinetune } from './finetune.js';
import {
  checkRanks,
  FINETUNE_RANKS_CONFIG,
  finetuneRanksStage,
  runFinetuneRanks,
  runSasrecRanks,
  SASREC_RANKS_CONFIG,
  SASREC_RANKS_STAGE,
} from './ranks.js';
import { type RqvaeStageConfig, runRqvae } from './rqvae.js';
import { runSasrec, type SasrecSummary } from './sasrec.js';

const tmp = mkdtempSync(join(tmpdir(), 'reproduce-ranks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('checkRanks', () => {
  it('counts hits and takes the differences from the stored metrics (closed form)', () => {
    const ranks = Int32Array.from([1, 7, 12, 30]);
    const stored = flattenRankingMetrics(metricsFromRanks(ranks));
    const same = checkRanks(ranks, stored);
    expect(same.hits['@10']).toEqual({ stored: 2, recomputed: 2 });
    expect(same.hits['@20']).toEqual({ stored: 3, recomputed: 3 });
    expect(same.maxAbsDelta).toBe(0);
    // One user moved from rank 7 to 11 by a tie: out of the top 10, still in the top 20.
    const moved = checkRanks(Int32Array.from([1, 11, 12, 30]), stored);
    expect(moved.hits['@10']).toEqual({ stored: 2, recomputed: 1 });
    expect(moved.delta['HR@10']).toBeCloseTo(-1 / 4, 15);
    expect(moved.delta['HR@20']).toBe(0);
    expect(moved.delta['NDCG@20']).toBeCloseTo((1 / Math.log2(12) - 1 / Math.log2(8)) / 4, 15);
    expect(moved.delta.meanRank).toBeCloseTo(4 / 4, 12);
    // The mean rank does not count in maxAbsDelta; HR@10 (and recall, precision ...) do.
    expect(moved.maxAbsDelta).toBeCloseTo(1 / 4, 15);
  });
});

// Stage glue over @mmesid/fusion and @mmesid/sasrec, whose kernels are tested on every backend.
const WHY = 'stage glue: the evaluators and run export are tested on every backend in their packages';
const data = generateSynthetic({ seed: 6, numUsers: 90, numItems: 48 });
function table(cols: number, seed: string): Matrix {
  const rng = new Rng(seed);
  const m = new Float32Array((data.numItems + 1) * cols);
  for (let i = cols; i < m.length; i++) m[i] = rng.normal();
  return { rows: data.numItems + 1, cols, data: m };
}
const tables = { collaborative: table(8, 'collab'), text: table(12, 'text') };
const rqCfg: RqvaeStageConfig = {
  levels: 2,
  codebookSize: 4,
  eDim: 4,
  hiddenLayers: [8],
  reconstruction: 'mmd',
  alignment: 'infonce',
  maxEpochs: 2,
  maxSeconds: 0,
  batchSize: 16,
  seed: 7,
  extras: false,
};
const ftCfg: FinetuneConfig = {
  variant: 'MME-SID',
  mode: 'paper',
  epochs: 1,
  microBatch: 8,
  effectiveBatch: 8,
  lr: 1e-2,
  maxUsers: 24,
  seed: 3,
  llama: 'random-tiny',
};
const silent = () => {};
/** `<stage>/<hash>` of every finished stage of a run directory. */
const stageKeys = (runDir: string) =>
  readdirSync(runDir)
    .filter((s) => statSync(resolve(runDir, s)).isDirectory())
    .flatMap((s) => readdirSync(resolve(runDir, s)).map((h) => `${s}/${h}`))
    .sort();

describeBackends(
  'ranks backfill stages',
  () => {
    it("a fine-tuning stage without ranks: the backfill's ranks equal the ones a fresh evaluation saved, and no stage key changes", async () => {
      const runDir = join(tmp, 'run');
      const rq = await runStage(
        runDir,
        'rqvae',
        rqCfg,
        { sasrec: 'test', embeddings: 'test' },
        (ctx) => runRqvae(ctx, rqCfg, data, tables, 10),
        silent,
      );
      const ftInputs = { rqvae: rq.hash };
      const ftStage = 'finetune-MME-SID';
      const ft = await runStage(
        runDir,
        ftStage,
        ftCfg,
        ftInputs,
        (ctx) =>
          runFinetune(
            ctx,
            ftCfg,
            {
              dataset: data,
              tables,
              rqvaeExportDir: resolve(rq.dir, 'mm-rqvae-mmd-export'),
              llamaDir: undefined,
            },
            10,
          ),
        silent,
      );
      const fresh = loadRanks(resolve(ft.dir, TEST_RANKS_FILE))!;
      expect(fresh.length).toBeGreaterThan(50);
      // A stage from before ranks were saved.
      rmSync(resolve(ft.dir, TEST_RANKS_FILE));
      const before = stageKeys(runDir);
      const b = await runStage(
        runDir,
        finetuneRanksStage(ftStage),
        FINETUNE_RANKS_CONFIG,
        { finetune: ft.hash },
        (ctx) => runFinetuneRanks(ctx, { dir: ft.dir, summary: ft.summary as VariantResult }, data),
        silent,
      );
      expect(b.dir.startsWith(resolve(runDir, 'ranks-finetune-MME-SID'))).toBe(true);
      expect(Array.from(loadRanks(resolve(b.dir, TEST_RANKS_FILE))!)).toEqual(Array.from(fresh));
      expect(b.summary.maxAbsDelta).toBeLessThan(1e-12);
      expect(Math.abs(b.summary.delta.meanRank!)).toBeLessThan(1e-9);
      expect(b.summary.users).toBe(fresh.length);
      expect(b.summary.source).toBe(ft.dir);
      // Every earlier stage keeps its key and stays cached; the backfill is one new stage.
      const again = await runStage(
        runDir,
        ftStage,
        ftCfg,
        ftInputs,
        () => Promise.reject(new Error('the finetune stage ran again')),
        silent,
      );
      expect(again.cached).toBe(true);
      expect(again.hash).toBe(ft.hash);
      expect(stageKeys(runDir)).toEqual([...before, `ranks-finetune-MME-SID/${b.hash}`].sort());

      // A stored figure the saved model cannot give (another model) is refused, naming the stage record.
      const wrong = { ...ft.summary.metrics, meanRank: 2 * ft.summary.metrics.meanRank! };
      await expect(
        runFinetuneRanks(
          { workDir: join(tmp, 'wrong'), log: silent },
          { dir: ft.dir, summary: { variant: 'MME-SID', metrics: wrong } },
          data,
        ),
      ).rejects.toThrow(RunDirError);
    }, 120_000);

    it("SASRec and popularity: the backfill's ranks equal the sasrec stage's own", async () => {
      const dir = join(tmp, 'sasrec');
      const summary: SasrecSummary = await runSasrec(
        { workDir: dir, log: silent },
        {
          d: 16,
          blocks: 1,
          dropout: 0.2,
          epochs: 2,
          patience: 2,
          seed: 5,
          recipe: { loss: 'bce', negatives: 1, batchSize: 32, lr: 5e-3, evalEvery: 1 },
        },
        data,
        10,
      );
      const own = [TEST_RANKS_FILE, POPULARITY_RANKS_FILE].map((f) => loadRanks(resolve(dir, f))!);
      const b = await runStage(
        join(tmp, 'run'),
        SASREC_RANKS_STAGE,
        SASREC_RANKS_CONFIG,
        { sasrec: 'test' },
        (ctx) => runSasrecRanks(ctx, { dir, summary }, data),
        silent,
      );
      expect(Array.from(loadRanks(resolve(b.dir, TEST_RANKS_FILE))!)).toEqual(Array.from(own[0]!));
      expect(Array.from(loadRanks(resolve(b.dir, POPULARITY_RANKS_FILE))!)).toEqual(Array.from(own[1]!));
      expect(b.summary.sasrec.maxAbsDelta).toBeLessThan(1e-12);
      expect(b.summary.popularity.maxAbsDelta).toBeLessThan(1e-12);
    }, 120_000);
  },
  { exclude: { cpu: WHY, webgpu: WHY } },
);
