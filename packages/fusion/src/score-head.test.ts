import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import {
  dot,
  gelu,
  handValues,
  linear,
  maxAbsDiff,
  row,
  setHandWeights,
  softmax,
} from './__fixtures__/reference.js';
import { parseFusionConfig } from './config.js';
import { frequencyFeature, type ItemTable } from './item-data.js';
import { ItemTokenizer } from './item-tokenizer.js';
import { ScoreHead } from './score-head.js';

// s_i = w_i0 (u . T_i) + sum_m w_im (u . (W_m e_m,i + b_m)) from hand-set weights, in plain JS; the
// terms are in the order target, then the config's modalities, and each has its own weight column.

const N = 4;
const d = 3;
const FREQ = [0, 5, 1, 9, 2];
const FUSION = { temperature: 0.8, hidden: 3, metaDim: 2, metaHidden: 2 };
const COLS = { collaborative: 2, text: 3 };
const U = [
  [0.4, -0.3, 0.9],
  [-0.7, 0.6, 0.2],
];

function tables(): Record<string, ItemTable> {
  return Object.fromEntries(
    Object.entries(COLS).map(([m, cols]) => [
      m,
      { rows: N + 1, cols, data: Float32Array.from(handValues(`t:${m}`, (N + 1) * cols, 1)) },
    ]),
  );
}

describeBackends('ScoreHead from hand-set weights', ({ tol }) => {
  const eps = Math.max(2e-5, tol);
  for (const head of ['fusion', 'equal', 'target'] as const)
    it(`head "${head}": every score equals the closed form`, async () => {
      const config = parseFusionConfig({
        modalities: ['collaborative', 'text'],
        itemToken: { sid: false },
        head,
        fusion: FUSION,
      });
      const t = tables();
      const tok = new ItemTokenizer({ config, hidden: d, numItems: N, tables: t, skipInit: true });
      const sh = new ScoreHead({
        config,
        hidden: d,
        numItems: N,
        feature: frequencyFeature(FREQ, N),
        skipInit: true,
      });
      try {
        const tw = setHandWeights(tok, tf);
        const hw = setHandWeights(sh, tf, 'head.');
        const g = (k: string) => hw.get(k)!.data;
        const weights = (i: number): number[] => {
          if (head === 'equal') return [1 / 3, 1 / 3, 1 / 3];
          const f = frequencyFeature(FREQ, N)[i]!;
          const h1 = gelu(linear([f], g('fusion.mlp_head.0.weight'), 3, g('fusion.mlp_head.0.bias')));
          const meta = linear(h1, g('fusion.mlp_head.2.weight'), 2, g('fusion.mlp_head.2.bias'));
          const h2 = gelu(linear(meta, g('fusion.mlp_meta_embedding.0.weight'), 2));
          const lo = linear(
            h2,
            g('fusion.mlp_meta_embedding.2.weight'),
            3,
            g('fusion.mlp_meta_embedding.2.bias'),
          );
          return softmax(lo.map((v) => v / FUSION.temperature));
        };
        const want = U.flatMap((u) =>
          Array.from({ length: N + 1 }, (_, i) => {
            const tt = g('target_table_t');
            const target = dot(
              u,
              Array.from({ length: d }, (_, c) => tt[c * (N + 1) + i]!),
            );
            if (head === 'target') return target;
            const terms = [
              target,
              ...(['collaborative', 'text'] as const).map((m) =>
                dot(
                  u,
                  linear(
                    row(t[m]!.data, COLS[m], i),
                    tw.get(`proj.${m}.weight`)!.data,
                    d,
                    tw.get(`proj.${m}.bias`)!.data,
                  ),
                ),
              ),
            ];
            const w = weights(i);
            return terms.reduce((s, x, j) => s + w[j]! * x, 0);
          }),
        );
        const got = tf.tidy(() => sh.forward(tf.tensor2d(U), tok));
        expect(got.shape).toEqual([2, N + 1]);
        expect(maxAbsDiff(await got.data(), want)).toBeLessThan(eps);
        got.dispose();
        expect(sh.termNames).toEqual(head === 'target' ? ['target'] : ['target', 'collaborative', 'text']);
        if (head === 'fusion') {
          // Non-uniform weights, so swapping two weight columns (or two terms) changes the scores.
          const w1 = weights(3);
          expect(Math.max(...w1) - Math.min(...w1)).toBeGreaterThan(0.05);
        }
      } finally {
        tok.dispose();
        sh.dispose();
      }
    });
});
