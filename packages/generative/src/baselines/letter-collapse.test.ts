import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { collidingRows, LetterTokenizer, letterSemanticIds, trainLetter } from './letter.js';

/**
 * Regression for the collapse seen on Beauty (session 4: loss 64 -> 339 over 5 epochs, 12,005 of
 * 12,086 items colliding). The input has the scale of Beauty's TF-IDF + SVD table (rms ~0.05 per
 * dimension, clustered), the collaborative table SASRec's scale (row norms ~1.5), and the tokenizer
 * the pipeline's shape: code width = input width = collaborative width, d-wide hidden layers, 5
 * epochs. Before the fix (reconstruction summed over dimensions, so its straight-through gradient
 * outran the commitment term and the latent drifted away from the codes) the loss rose from the
 * first epoch and most items collided.
 */
function pathologicalInput(N: number, dIn: number, dCf: number) {
  const rng = new Rng('letter-collapse');
  const centres = rng.fillNormal(new Float32Array(24 * dIn), 0, 0.05);
  const x = new Float32Array(N * dIn);
  const h = new Float32Array(N * dCf);
  const cfCentres = rng.fillNormal(new Float32Array(24 * dCf), 0, 1.5 / Math.sqrt(dCf));
  for (let i = 0; i < N; i++) {
    const c = rng.int(24);
    for (let k = 0; k < dIn; k++) x[i * dIn + k] = centres[c * dIn + k]! + rng.normal(0, 0.02);
    for (let k = 0; k < dCf; k++)
      h[i * dCf + k] = cfCentres[c * dCf + k]! + rng.normal(0, 0.3 / Math.sqrt(dCf));
  }
  return { inputs: { rows: N, cols: dIn, data: x }, cf: { rows: N, cols: dCf, data: h } };
}

describeBackends(
  "LETTER's tokenizer on an input of Beauty's scale",
  () => {
    it('lowers its loss over training and keeps colliding items below 5% of the items', async () => {
      const N = 768;
      const data = pathologicalInput(N, 16, 16);
      const tok = new LetterTokenizer({
        inputDim: 16,
        cfDim: 16,
        eDim: 16,
        hidden: [16, 16, 16],
        levels: 3,
        codebookSize: 32,
        clusters: 4,
        seed: 1,
      });
      try {
        const epochs: { loss: number; colliding: number }[] = [];
        await trainLetter(tok, data, {
          epochs: 5,
          batchSize: 128,
          onEpoch: (e) => {
            epochs.push(e);
          },
        });
        const ids = await letterSemanticIds(tok, data.inputs);
        const colliding = collidingRows(ids.ids, 3).length;
        console.log(
          `LETTER on a Beauty-scale input: loss ${epochs.map((e) => e.loss.toFixed(3)).join(' -> ')}; colliding items ${ids.collidingBefore} -> ${colliding} of ${N}`,
        );
        expect(epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
        expect(epochs.at(-1)!.loss).toBeLessThan(epochs[0]!.loss);
        expect(colliding).toBeLessThan(0.05 * N);
        // The weights kept are those of the epoch with the fewest colliding items (LETTER's checkpoint choice).
        expect(ids.collidingBefore).toBe(Math.min(...epochs.map((e) => e.colliding)));
        // The re-assignment only changes the last level: every prefix is the nearest-code one.
        const X = tf.tensor2d(data.inputs.data, [N, 16]);
        const nearest = await tok.assign(X);
        X.dispose();
        for (let i = 0; i < N; i++)
          expect([ids.ids[i * 3], ids.ids[i * 3 + 1]]).toEqual([nearest[i * 3], nearest[i * 3 + 1]]);
      } finally {
        tok.dispose();
      }
    });
  },
  { only: ['wasm'] },
);
