import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GenerativeRecommender } from '../generative-model.js';
import { randomCodes, tinyLlama } from '../internal/test-fixtures.js';
import { SidVocabulary } from '../sid-vocabulary.js';
import { rankingGuidedLoss } from './letter-losses.js';

const fx = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ranking_loss.json'), 'utf8'),
) as {
  N: number;
  V: number;
  logits: number[];
  labels: number[];
  cases: { tau: number; loss: number; grad: number[] }[];
};

/** -mean_i log softmax(z_i / tau)[y_i] in float64, rows of `z` of width V. */
function closedForm(z: Float32Array, labels: ArrayLike<number>, V: number, tau: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) m = Math.max(m, z[i * V + v]! / tau);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(z[i * V + v]! / tau - m);
    sum += m + Math.log(s) - z[i * V + labels[i]!]! / tau;
  }
  return sum / labels.length;
}

describeBackends("LETTER's ranking-guided generation loss (fixtures/make_ranking_loss.py)", ({ tol }) => {
  it('loss and gradient equal the float64 numpy reference at every temperature', async () => {
    const z = tf.tensor2d(fx.logits, [fx.N, fx.V]);
    const labels = Int32Array.from(fx.labels);
    for (const c of fx.cases) {
      const g = tf.grad((x: tf.Tensor) => rankingGuidedLoss(x, labels, c.tau))(z);
      const loss = rankingGuidedLoss(z, labels, c.tau);
      expect(Math.abs((await loss.data())[0]! - c.loss)).toBeLessThan(10 * tol);
      expect(maxAbsDiff(await g.data(), c.grad)).toBeLessThan(10 * tol);
      tf.dispose([g, loss]);
    }
    z.dispose();
  });

  it('a lower temperature moves the gradient onto the hardest negative; bad input is refused', async () => {
    // One row: target 0, a hard negative 1 scored just below it, easy negatives far below.
    const z = tf.tensor2d([[2, 1.8, -1, -1.5, -2]]);
    const share = async (tau: number) => {
      const g = tf.grad((x: tf.Tensor) => rankingGuidedLoss(x, Int32Array.of(0), tau))(z);
      const v = await g.data();
      g.dispose();
      const neg = Array.from(v.slice(1));
      return neg[0]! / neg.reduce((s, x) => s + x, 0);
    };
    const hard = [await share(2), await share(1), await share(0.5), await share(0.2)];
    for (let i = 1; i < hard.length; i++) expect(hard[i]!).toBeGreaterThan(hard[i - 1]!);
    expect(() => rankingGuidedLoss(z, Int32Array.of(0), 0)).toThrow(/temperature must be a positive number/);
    expect(() => rankingGuidedLoss(z, Int32Array.of(5), 1)).toThrow(/label 5 of row 0 outside 0..4/);
    z.dispose();
  });
});

const numItems = 9;
const vocab = SidVocabulary.build({ collaborative: randomCodes(numItems, 2, 3, 16, 'rank-c') });

describeBackends(
  'GenerativeRecommender.loss with a temperature (LETTER) on a tiny random Llama',
  ({ tol }) => {
    let gen: GenerativeRecommender;
    beforeAll(async () => {
      gen = await GenerativeRecommender.create({
        lm: tinyLlama(4),
        vocab,
        prompt: { prefix: [1, 2], suffix: [3] },
      });
      gen.eval();
    });
    afterAll(() => gen.dispose());

    it('equals the closed form over the raw output logits (text + SID softmax) at tau 1, 0.5 and 0.25', async () => {
      const batch = [
        { history: [2, 5], target: 7 },
        { history: [9], target: 1 },
      ];
      const D = vocab.targetLength;
      // Raw logits from one forward per example (no padding), teacher-forced.
      const rows: Float32Array[] = [];
      const labels: number[] = [];
      for (const ex of batch) {
        const target = Array.from(vocab.target(ex.target));
        const ids = [...gen.promptIds(ex.history), ...target.map((s) => gen.textVocab + s)];
        const z = tf.tidy(() => {
          const out = gen.lm.forward({ inputsEmbeds: gen.embedIds([ids]), returnLogits: false });
          const h = tf.slice(out.lastHiddenState, [0, ids.length - D - 1, 0], [1, D, -1]);
          return gen.outputLogits(h);
        });
        rows.push((await z.data()) as Float32Array);
        z.dispose();
        labels.push(...target.map((s) => gen.textVocab + s));
      }
      const V = gen.textVocab + vocab.size;
      const all = new Float32Array(rows.length * rows[0]!.length);
      rows.forEach((r, i) => {
        all.set(r, i * r.length);
      });
      for (const tau of [1, 0.5, 0.25]) {
        const loss = gen.loss(batch, { temperature: tau });
        const got = (await loss.data())[0]!;
        loss.dispose();
        expect(Math.abs(got - closedForm(all, labels, V, tau))).toBeLessThan(50 * tol);
      }
    });
  },
  {
    only: ['cpu', 'wasm'],
  },
);
