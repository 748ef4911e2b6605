import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { collidingRows, LetterTokenizer, letterSemanticIds, trainLetter } from './letter.js';
import {
  balancedClusters,
  collaborativeAlignmentLoss,
  diversityLoss,
  samplePositives,
} from './letter-losses.js';

const fx = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'letter_losses.json'), 'utf8'),
) as {
  B: number;
  d: number;
  K: number;
  q: number[];
  h: number[];
  r: number[];
  codebook: number[];
  codes: number[];
  positives: number[];
  collaborative: number;
  diversity: number;
};

describeBackends(
  "LETTER's losses against numpy (fixtures/make_letter_losses.py)",
  ({ tol }) => {
    it('collaborative alignment and diversity losses equal the float64 reference', async () => {
      const q = tf.tensor2d(fx.q, [fx.B, fx.d]);
      const h = tf.tensor2d(fx.h, [fx.B, fx.d]);
      const r = tf.tensor2d(fx.r, [fx.B, fx.d]);
      const cb = tf.tensor2d(fx.codebook, [fx.K, fx.d]);
      const cf = collaborativeAlignmentLoss(q, h);
      const div = diversityLoss(r, cb, Int32Array.from(fx.codes), Int32Array.from(fx.positives));
      expect(Math.abs((await cf.data())[0]! - fx.collaborative)).toBeLessThan(10 * tol);
      expect(Math.abs((await div.data())[0]! - fx.diversity)).toBeLessThan(10 * tol);
      // The diversity loss is differentiable in the residuals and the codebook.
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        diversityLoss(
          a as tf.Tensor2D,
          b as tf.Tensor2D,
          Int32Array.from(fx.codes),
          Int32Array.from(fx.positives),
        ),
      )([r, cb]);
      expect(g.map((t) => t.shape)).toEqual([
        [fx.B, fx.d],
        [fx.K, fx.d],
      ]);
      tf.dispose([q, h, r, cb, cf, div, ...g]);
    });

    it('a short LETTER training run lowers its loss; Sinkhorn re-assignment keeps the fewest collisions', async () => {
      const rng = new Rng(3);
      const N = 48;
      const inputs = { rows: N, cols: 8, data: rng.fillNormal(new Float32Array(N * 8)) };
      const cf = { rows: N, cols: 4, data: rng.fillNormal(new Float32Array(N * 4)) };
      const tok = new LetterTokenizer({
        inputDim: 8,
        cfDim: 4,
        eDim: 4,
        hidden: [16],
        levels: 3,
        codebookSize: 4,
        clusters: 2,
        alpha: 0.1,
        beta: 0.01,
      });
      try {
        const losses = await trainLetter(tok, { inputs, cf }, { epochs: 6, batchSize: 16, lr: 5e-3 });
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(losses[5]!).toBeLessThan(losses[0]!);
        const res = await letterSemanticIds(tok, inputs, { maxRounds: 10 });
        expect(res.ids.length).toBe(N * 3);
        expect(res.ids.every((c) => c >= 0 && c < 4)).toBe(true);
        expect(res.collidingBefore).toBeGreaterThan(0); // 48 items in 64 code tuples: the re-assignment path runs
        expect(res.collidingAfter).toBeLessThanOrEqual(res.collidingBefore);
        console.log(
          `LETTER toy: colliding items ${res.collidingBefore} -> ${res.collidingAfter} in ${res.rounds} rounds`,
        );
        expect(res.collidingAfter).toBe(collidingRows(res.ids, 3).length);
      } finally {
        tok.dispose();
      }
    });

    it("defaults: codes as wide as the SASRec rows, encoder widths halving from the input (LETTER's pattern), Sinkhorn on the last level", () => {
      const a = new LetterTokenizer({ inputDim: 256, cfDim: 16, levels: 3, codebookSize: 8, clusters: 2 });
      const b = new LetterTokenizer({ inputDim: 64, cfDim: 64, codebookSize: 8, clusters: 2 });
      try {
        expect(a.config.eDim).toBe(16);
        expect(a.config.hidden).toEqual([128, 64, 32]); // LETTER's 4096 / e_dim 32 gives its [2048, ..., 64]
        expect(a.config.sinkhornEpsilons).toEqual([0, 0, 0.003]);
        expect(a.getModule('cf_proj')).toBeUndefined();
        expect(b.config.hidden).toEqual([]);
        expect(
          () => new LetterTokenizer({ inputDim: 8, cfDim: 4, levels: 2, sinkhornEpsilons: [0] }),
        ).toThrow(/sinkhornEpsilons must be 2 numbers/);
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  },
  { only: ['cpu', 'wasm'] },
);

describe('LETTER code clusters', () => {
  it('balanced clusters respect the capacity and recover well-separated groups', () => {
    // 12 codes in 3 tight, far-apart groups of 4 (2-d).
    const cb = new Float32Array(24);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const rng = new Rng(1);
    for (let c = 0; c < 12; c++) {
      cb[2 * c] = centres[c % 3]![0]! + rng.normal(0, 0.1);
      cb[2 * c + 1] = centres[c % 3]![1]! + rng.normal(0, 0.1);
    }
    const cl = balancedClusters(cb, 12, 3, new Rng(2));
    for (let c = 0; c < 12; c++) expect(cl[c]).toBe(cl[c % 3]);
    expect(new Set(cl).size).toBe(3);
    const sizes = [0, 0, 0];
    for (const g of cl) sizes[g]!++;
    expect(sizes).toEqual([4, 4, 4]);
  });

  it('positives are other codes of the same cluster, -1 for a singleton cluster', () => {
    const clusters = Int32Array.from([0, 0, 1, 2, 1, 0]);
    const codes = Int32Array.from([0, 1, 2, 3, 4, 5, 0, 3]);
    const pos = samplePositives(codes, clusters, new Rng(4));
    codes.forEach((c, i) => {
      if (clusters[c] === 2) expect(pos[i]).toBe(-1);
      else {
        expect(pos[i]).not.toBe(c);
        expect(clusters[pos[i]!]).toBe(clusters[c]);
      }
    });
  });
});
