import { trainingSequences } from '@mmesid/datasets';
import { Rng } from '@mmesid/tensor';
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
