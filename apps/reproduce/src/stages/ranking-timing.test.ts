import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSynthetic, leaveOneOut } from '@mmesid/datasets';
import { loadSafetensors, saveSafetensors, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, expect, it } from 'vitest';
import { RunDirError } from '../cache.js';
import { loadStageSasrec, RANKING_TIMING_BATCH, runRankingTiming } from './ranking-timing.js';
import { runSasrec, type SasrecSummary } from './sasrec.js';

const tmp = mkdtempSync(join(tmpdir(), 'reproduce-rank-timing-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const data = generateSynthetic({ seed: 3, numUsers: 120, numItems: 60 });
const ctx = (dir: string) => ({ workDir: dir, log: () => {} });
// The stage is backend-agnostic glue over @mmesid/sasrec, whose kernels are tested on every backend.
const WHY =
  'training a SASRec for seconds is only affordable on wasm here (cpu ~5-10x slower, webgpu on SwiftShader over 180 s)';

describeBackends(
  'ranking-timing stage',
  ({ backend }) => {
    it("reloads the sasrec stage's evaluated model (best weights) and times SASRec and popularity without touching the stage", async () => {
      const dir = join(tmp, `sasrec-${backend}`);
      mkdirSync(dir, { recursive: true });
      // Validation every epoch; the stage evaluated the restored best weights.
      const summary: SasrecSummary = await runSasrec(
        ctx(dir),
        {
          d: 16,
          blocks: 1,
          dropout: 0.2,
          epochs: 3,
          patience: 3,
          seed: 5,
          recipe: { loss: 'bce', negatives: 1, batchSize: 32, lr: 5e-3, evalEvery: 1 },
        },
        data,
        10,
      );
      // Make the last weights differ from the best ones (as after a worse later epoch): timing the
      // last weights instead of the evaluated best ones must then show in the metrics.
      const ckpt = join(dir, 'checkpoint', 'checkpoint');
      const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8'));
      expect(state.state.best).not.toBeNull();
      expect(state.state.train.restoreBest).toBe(true);
      const last = await loadSafetensors(join(ckpt, 'model.safetensors'));
      const noisy = tf.tidy(() =>
        Object.fromEntries(
          [...last].map(([k, v], i) => [k, tf.add(v, tf.randomNormal(v.shape, 0, 1, 'float32', i + 1))]),
        ),
      );
      await saveSafetensors(join(ckpt, 'model.safetensors'), noisy, { metadata: { format: 'pt' } });
      tf.dispose([...last.values(), ...Object.values(noisy)]);
      const before = JSON.stringify(summary);
      const t = await runRankingTiming(ctx(join(tmp, `t-${backend}`)), { dir, summary }, data);
      expect(JSON.stringify(summary)).toBe(before);
      // The same backend, the same weights, the same evaluation: the metrics come out identical.
      expect(t.sasrec.maxMetricDifference).toBe(0);
      expect(t.popularity.maxMetricDifference).toBe(0);
      for (const x of [t.sasrec, t.popularity]) {
        expect(x.users).toBe(leaveOneOut(data).test.length);
        expect(x.batchSize).toBe(RANKING_TIMING_BATCH);
        expect(x.msPerUser).toBeGreaterThan(0);
        expect(Number.isFinite(x.msPerUser)).toBe(true);
      }
    });

    it('refuses a checkpoint that is not the reported model, and a stage folder without one, naming the file', async () => {
      const dir = join(tmp, `sasrec-${backend}`);
      const summary = { test: { 'HR@10': 2 }, popularity: {} } as unknown as SasrecSummary;
      await expect(runRankingTiming(ctx(tmp), { dir, summary }, data)).rejects.toThrow(RunDirError);
      await expect(runRankingTiming(ctx(tmp), { dir, summary }, data)).rejects.toThrow(
        /stage\.json: SASRec evaluated again differs/,
      );
      const empty = join(tmp, `empty-${backend}`);
      mkdirSync(empty, { recursive: true });
      await expect(loadStageSasrec(empty)).rejects.toThrow(/checkpoint.*no SASRec training checkpoint/);
      // A copy of the stage folder elsewhere loads the same model.
      const copy = join(tmp, `copy-${backend}`);
      cpSync(dir, copy, { recursive: true });
      const m = await loadStageSasrec(copy);
      expect(m.config.hiddenUnits).toBe(16);
      m.dispose();
    });
  },
  { exclude: { cpu: WHY, webgpu: WHY } },
);
