import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { gelu, handValues, linear, maxAbsDiff, relu, row, setHandWeights } from './__fixtures__/reference.js';
import { type FusionConfigInput, parseFusionConfig } from './config.js';
import type { ItemTable, SemanticIds } from './item-data.js';
import { ItemTokenizer } from './item-tokenizer.js';

// The item token of each combine mode from hand-set weights, against the formula in plain JS:
// parts P = [p_1, s_1, p_2, s_2] with p_m = W_m e_m + b_m and s_m = sum_l CE^l_m; 'mlp' =
// GELU(W_2 ReLU(W_1 P + c_1) + c_2) (2Md -> Md -> d), 'linear' = W P + c, 'sum' = sum of the parts,
// 'tokens' = the parts as separate tokens; 'raw' feeds e_m instead of p_m.

const N = 4;
const d = 3;
const MODS = ['collaborative', 'text'] as const;
const COLS = { collaborative: 2, text: 4 };
const L = 2;
const K = 3;
const ITEMS = [1, 2, 3, 4];

const tables = (): Record<string, ItemTable> =>
  Object.fromEntries(
    MODS.map((m) => [
      m,
      { rows: N + 1, cols: COLS[m], data: Float32Array.from(handValues(`t:${m}`, (N + 1) * COLS[m], 1)) },
    ]),
  );

function sids(): SemanticIds {
  const out: Record<string, SemanticIds[string]> = {};
  for (const m of MODS) {
    const ids = new Int32Array((N + 1) * L);
    for (let i = 1; i <= N; i++) for (let l = 0; l < L; l++) ids[i * L + l] = (2 * i + l + m.length) % K;
    out[m] = { ids, levels: L, codebookSize: K, dim: d, codebooks: new Float32Array(L * K * d) };
  }
  return out;
}

describeBackends('ItemTokenizer from hand-set weights', ({ tol }) => {
  const eps = Math.max(2e-5, tol);
  const cases: { label: string; itemToken: FusionConfigInput['itemToken'] }[] = [
    { label: 'MME-SID (projected + SID, mlp)', itemToken: {} },
    { label: 'projected + SID, linear', itemToken: { combine: 'linear' } },
    { label: 'projected + SID, sum', itemToken: { combine: 'sum' } },
    { label: 'projected + SID, separate tokens', itemToken: { combine: 'tokens' } },
    { label: 'raw embeddings, linear', itemToken: { embeddings: 'raw', sid: false, combine: 'linear' } },
  ];
  for (const { label, itemToken } of cases)
    it(label, async () => {
      const config = parseFusionConfig({ modalities: [...MODS], itemToken, head: 'target' });
      const t = tables();
      const s = sids();
      const tok = new ItemTokenizer({
        config,
        hidden: d,
        numItems: N,
        tables: t,
        semanticIds: s,
        skipInit: true,
      });
      try {
        const w = setHandWeights(tok, tf);
        const g = (k: string) => w.get(k)!.data;
        const c = config.itemToken;
        const parts = (i: number): number[][] =>
          MODS.flatMap((m) => {
            const e = row(t[m]!.data, COLS[m], i);
            const out: number[][] = [
              c.embeddings === 'raw' ? e : linear(e, g(`proj.${m}.weight`), d, g(`proj.${m}.bias`)),
            ];
            if (c.sid) {
              const codes = g(`sid.${m}.codes`);
              const sum = new Array<number>(d).fill(0);
              for (let l = 0; l < L; l++) {
                const code = s[m]!.ids[i * L + l]!;
                for (let j = 0; j < d; j++) sum[j] = sum[j]! + codes[(l * K + code) * d + j]!;
              }
              out.push(sum);
            }
            return out;
          });
        const want = ITEMS.flatMap((i) => {
          const p = parts(i);
          const cat = p.flat();
          switch (c.combine) {
            case 'mlp': {
              const h = relu(linear(cat, g('mlp.layers.0.weight'), MODS.length * d, g('mlp.layers.0.bias')));
              return gelu(linear(h, g('mlp.layers.1.weight'), d, g('mlp.layers.1.bias')));
            }
            case 'linear':
              return linear(cat, g('linear.weight'), d, g('linear.bias'));
            case 'sum':
              return p.reduce((a, b) => a.map((v, j) => v + b[j]!));
            default:
              return cat; // 'tokens'
          }
        });
        const got = tf.tidy(() => tok.forward(tf.tensor1d(ITEMS, 'int32')));
        expect(got.shape).toEqual([ITEMS.length * tok.tokensPerItem, d]);
        expect(maxAbsDiff(await got.data(), want)).toBeLessThan(eps);
        got.dispose();
      } finally {
        tok.dispose();
      }
    });

  it('refuses int ids of the wrong rank or dtype, and missing tables or IDs, naming them', () => {
    const config = parseFusionConfig({ modalities: [...MODS] });
    expect(
      () =>
        new ItemTokenizer({
          config,
          hidden: d,
          numItems: N,
          tables: {},
          semanticIds: sids(),
          skipInit: true,
        }),
    ).toThrow(/no item table for modality "collaborative"/);
    expect(
      () => new ItemTokenizer({ config, hidden: d, numItems: N, tables: tables(), skipInit: true }),
    ).toThrow(/no semantic IDs for modality "collaborative"/);
    const tok = new ItemTokenizer({
      config,
      hidden: d,
      numItems: N,
      tables: tables(),
      semanticIds: sids(),
      skipInit: true,
    });
    const x = tf.tensor1d([1, 2], 'float32');
    expect(() => tok.forward(x)).toThrow(/expected int32 item ids/);
    x.dispose();
    tok.dispose();
  });
});
