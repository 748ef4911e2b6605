import { trainingSequences } from '@mmesid/datasets';
import { epochBatches } from '@mmesid/sasrec';
import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { randomCodes } from '../internal/test-fixtures.js';
import { MotorModel, trainMotor } from './motor.js';

const N = 12;
const text = randomCodes(N, 2, 3, 8, 'motor-text');
const visual = randomCodes(N, 2, 3, 8, 'motor-visual');

describeBackends(
  'MOTOR (SASRec over summed SID token embeddings)',
  ({ tol }) => {
    it('each item embedding is the sum of its text and visual SID rows; padding is zero', async () => {
      const m = new MotorModel({
        sasrec: { numItems: N, hiddenUnits: 8, maxLen: 5 },
        segments: { text, visual },
        seed: 1,
      });
      try {
        const table = m.itemTable();
        const t = await table.data();
        const sd = m.stateDict();
        const tx = await sd.sid_text!.data();
        const vi = await sd.sid_visual!.data();
        const expected = new Float32Array((N + 1) * 8);
        for (let i = 1; i <= N; i++)
          for (let l = 0; l < 2; l++)
            for (let j = 0; j < 8; j++)
              expected[i * 8 + j]! +=
                tx[(l * 3 + text.ids[i * 2 + l]!) * 8 + j]! + vi[(l * 3 + visual.ids[i * 2 + l]!) * 8 + j]!;
        expect(maxAbsDiff(t, expected)).toBeLessThan(tol);
        table.dispose();
        const s = m.scores([[1, 2, 3], [4]]);
        expect(s.shape).toEqual([2, N + 1]);
        s.dispose();
        // The ID table of SASRec is not trained.
        expect([...m.trainableParameters().keys()].some((k) => k.includes('item_emb'))).toBe(false);
      } finally {
        m.dispose();
      }
    });

    it("the batch-rows path gives the full-table path's loss and gradients (bce and shared-negative softmax)", async () => {
      // Two levels x two modalities, codebook-initialised so every token row is O(0.5): a path that
      // dropped a level or a modality, or mis-numbered an item, moves the loss by O(0.1).
      const rng = new Rng(7);
      const sequences = Array.from({ length: 10 }, (_, u) =>
        Int32Array.from({ length: 2 + (u % 5) }, () => 1 + rng.int(N)),
      );
      const training = trainingSequences({ sequences, numItems: N });
      const m = new MotorModel({
        sasrec: { numItems: N, hiddenUnits: 8, maxLen: 5, dropout: 0 },
        segments: { text, visual },
        init: 'codebook',
        seed: 4,
      });
      try {
        // The rows themselves: e_i = sum over modalities and levels, padding zero (independent of itemTable).
        const sd = m.stateDict();
        const tx = await sd.sid_text!.data();
        const vi = await sd.sid_visual!.data();
        const ids = Int32Array.from([3, 0, 7, 3, N]);
        const rows = m.itemRows(ids);
        const got = await rows.data();
        rows.dispose();
        const want = new Float32Array(ids.length * 8);
        ids.forEach((id, r) => {
          if (id === 0) return;
          for (let l = 0; l < 2; l++)
            for (let j = 0; j < 8; j++)
              want[r * 8 + j]! +=
                tx[(l * 3 + text.ids[id * 2 + l]!) * 8 + j]! + vi[(l * 3 + visual.ids[id * 2 + l]!) * 8 + j]!;
        });
        expect(maxAbsDiff(got, want)).toBeLessThan(tol);
        expect(() => m.itemRows(Int32Array.from([N + 1]))).toThrow(/outside 0\.\.12/);

        const [batch] = epochBatches(training, {
          batchSize: 10,
          maxLen: 5,
          negatives: 2,
          seed: 2,
          epoch: 0,
          bucketBatches: 0,
          sharedNegatives: 4,
        });
        expect(batch!.inputs.some((x) => x === 0)).toBe(true); // padding is exercised
        const vars = [...m.trainableParameters().values()];
        for (const lossName of ['bce', 'sampled-softmax'] as const) {
          const run = async (table: 'batch' | 'full') => {
            const { value, grads } = tf.variableGrads(() => m.loss(batch!, lossName, { table }), vars);
            const out = {
              loss: (await value.data())[0]!,
              grads: Object.fromEntries(
                await Promise.all(Object.entries(grads).map(async ([k, g]) => [k, await g.data()] as const)),
              ),
            };
            tf.dispose([value, ...Object.values(grads)]);
            return out;
          };
          const full = await run('full');
          const local = await run('batch');
          expect(Math.abs(local.loss - full.loss), lossName).toBeLessThan(
            tol * Math.max(1, Math.abs(full.loss)),
          );
          expect(Object.keys(local.grads).sort()).toEqual(Object.keys(full.grads).sort());
          for (const [k, g] of Object.entries(full.grads)) {
            const scale = Math.max(1, ...Array.from(g as Float32Array, Math.abs));
            expect(maxAbsDiff(local.grads[k]!, g as Float32Array), `${lossName} ${k}`).toBeLessThan(
              tol * scale,
            );
          }
          // The SID tables do get a gradient (not a vacuous equality of zeros).
          expect(
            Math.max(
              ...Array.from(
                full.grads[Object.keys(full.grads).find((k) => k.includes('sid_text'))!]!,
                Math.abs,
              ),
            ),
          ).toBeGreaterThan(1e-4);
        }
      } finally {
        m.dispose();
      }
    });

    it('a few epochs on sequences with a learnable rule lower the loss, leaking nothing', async () => {
      const rng = new Rng(2);
      const sequences = Array.from({ length: 24 }, () => {
        const start = 1 + rng.int(N);
        return Int32Array.from({ length: 5 }, (_, k) => ((start + k - 1) % N) + 1);
      });
      const training = trainingSequences({ sequences, numItems: N });
      const m = new MotorModel({
        sasrec: { numItems: N, hiddenUnits: 8, maxLen: 5, dropout: 0 },
        segments: { text, visual },
        seed: 3,
      });
      try {
        const losses = await trainMotor(m, training, { epochs: 8, batchSize: 8, lr: 1e-2, seed: 1 });
        expect(losses[7]!).toBeLessThan(losses[0]!);
      } finally {
        m.dispose();
      }
    });
  },
  { only: ['cpu', 'wasm'] },
);
