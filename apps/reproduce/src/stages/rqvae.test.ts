import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateSynthetic, type Matrix } from '@mmesid/datasets';
import { loadExport } from '@mmesid/rqvae';
import { Rng } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { afterAll, expect, it } from 'vitest';
import { runStage } from '../cache.js';
import { type RqvaeStageConfig, runRqvae, runRqvaeExtras } from './rqvae.js';

const tmp = mkdtempSync(join(tmpdir(), 'reproduce-rqvae-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const data = generateSynthetic({ seed: 4, numUsers: 80, numItems: 48 });
/** A (numItems + 1) x cols table with a zero padding row, as the pipeline's tables are. */
function table(cols: number, seed: string): Matrix {
  const rng = new Rng(seed);
  const m = new Float32Array((data.numItems + 1) * cols);
  for (let i = cols; i < m.length; i++) m[i] = rng.normal();
  return { rows: data.numItems + 1, cols, data: m };
}
const tables = { collaborative: table(8, 'collab'), text: table(12, 'text') };
const cfg: RqvaeStageConfig = {
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
const { extras: _x, ...extrasCfg } = cfg;
const silent = () => {};
// Stage glue over @mmesid/rqvae, whose kernels are tested on every backend.
const WHY = 'stage glue: the MM-RQ-VAE kernels are tested on every backend in @mmesid/rqvae';

describeBackends(
  'rqvae and rqvae-extras stages',
  () => {
    it('the rqvae stage trains the MMD model only; the extras stage adds the MSE twin (same config and seed) and RQ-KMeans, leaving the rqvae stage cached', async () => {
      const runDir = join(tmp, 'run');
      const inputs = { sasrec: 'test', embeddings: 'test' };
      const rq = await runStage(
        runDir,
        'rqvae',
        cfg,
        inputs,
        (ctx) => runRqvae(ctx, cfg, data, tables, 10),
        silent,
      );
      expect(Object.keys(rq.summary.reports)).toEqual(['mm-rqvae-mmd']);
      expect(Object.keys(rq.summary.reports['mm-rqvae-mmd']!).sort()).toEqual(['collaborative', 'text']);
      expect(existsSync(resolve(rq.dir, 'mm-rqvae-mmd-export'))).toBe(true);
      expect(existsSync(resolve(rq.dir, 'mm-rqvae-mse-export'))).toBe(false);

      const ex = await runStage(
        runDir,
        'rqvae-extras',
        extrasCfg,
        { rqvae: rq.hash },
        (ctx) => runRqvaeExtras(ctx, extrasCfg, data, tables, 10),
        silent,
      );
      expect(Object.keys(ex.summary.reports).sort()).toEqual(['mm-rqvae-mse', 'rq-kmeans']);
      for (const r of Object.values(ex.summary.reports)) {
        expect(Object.keys(r).sort()).toEqual(['collaborative', 'text']);
        // The forgetting tau (quantised vs original, over the test split's pairs) is a correlation.
        expect(Math.abs(r.collaborative!.tauQuantized!)).toBeLessThanOrEqual(1);
      }
      const mmd = await loadExport(resolve(rq.dir, 'mm-rqvae-mmd-export'));
      const mse = await loadExport(resolve(ex.dir, 'mm-rqvae-mse-export'));
      expect(mmd.config.metadata.reconstruction).toBe('mmd');
      expect(mse.config.metadata.reconstruction).toBe('mse');
      // The twin is the same tokenizer (sizes, seed, loss weights) with MSE reconstruction.
      expect(mse.config.tokenizer).toEqual({ ...mmd.config.tokenizer, reconstruction: 'mse' });
      expect(mse.config.rows).toBe(data.numItems);
      for (const m of Object.values(mse.modalities))
        for (const id of m.ids) expect(id >= 0 && id < cfg.codebookSize).toBe(true);

      // Running the rqvae stage again (as a run with the extras does) reuses it.
      const again = await runStage(
        runDir,
        'rqvae',
        cfg,
        inputs,
        () => Promise.reject(new Error('the rqvae stage ran again')),
        silent,
      );
      expect(again.cached).toBe(true);
      expect(again.hash).toBe(rq.hash);
    }, 120_000);
  },
  { exclude: { cpu: WHY, webgpu: WHY } },
);
