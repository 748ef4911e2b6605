import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import {
  dot,
  gelu,
  handValues,
  linear,
  maxAbsDiff,
  relu,
  row,
  setHandWeights,
  softmax,
} from './__fixtures__/reference.js';
import type { FusionConfig } from './config.js';
import { frequencyFeature, type ItemTable, type SemanticIds } from './item-data.js';
import { ItemTokenizer } from './item-tokenizer.js';
import { ScoreHead } from './score-head.js';
import { VARIANT_NAMES, type VariantName, variantConfig } from './variants.js';

// Every variant's item-token and scoring function, built from hand-set weights and compared with
// the paper's formula (Table 2 of ../shared/paper/FIGURES.md) evaluated in plain JavaScript.

const N = 5;
const d = 4;
const MODS = ['collaborative', 'text', 'visual'] as const;
const COLS: Record<string, number> = { collaborative: 3, text: 2, visual: 3 };
const L = 2;
const K = 3;

function table(m: string, salt = ''): ItemTable {
  const cols = COLS[m]!;
  const data = Float32Array.from(handValues(`table:${m}${salt}`, (N + 1) * cols, 1));
  data.fill(0, 0, cols);
  return { rows: N + 1, cols, data };
}

function sids(): SemanticIds {
  const out: Record<string, SemanticIds[string]> = {};
  for (const m of MODS) {
    const ids = new Int32Array((N + 1) * L);
    for (let i = 1; i <= N; i++) for (let l = 0; l < L; l++) ids[i * L + l] = (i * (l + 2) + m.length) % K;
    out[m] = {
      ids,
      levels: L,
      codebookSize: K,
      dim: d,
      codebooks: Float32Array.from(handValues(`codebook:${m}`, L * K * d)),
    };
  }
  return out;
}

const FREQ = [0, 7, 1, 3, 0, 12];
const SMALL_FUSION = { temperature: 0.7, hidden: 3, metaDim: 2, metaHidden: 3 };

interface Built {
  cfg: FusionConfig;
  tok: ItemTokenizer;
  head: ScoreHead;
  w: Map<string, { shape: number[]; data: Float64Array }>;
  hw: Map<string, { shape: number[]; data: Float64Array }>;
  tables: Record<string, ItemTable>;
}

function build(
  name: VariantName,
  opts: { reading?: 'alternative'; tables?: Record<string, ItemTable> } = {},
): Built {
  const cfg = variantConfig(name, { fusion: SMALL_FUSION }, [...MODS], {
    ...(opts.reading ? { reading: opts.reading } : {}),
  });
  const tables = opts.tables ?? Object.fromEntries(MODS.map((m) => [m, table(m)]));
  const tok = new ItemTokenizer({
    config: cfg,
    hidden: d,
    numItems: N,
    tables,
    semanticIds: sids(),
    skipInit: true,
  });
  const head = new ScoreHead({
    config: cfg,
    hidden: d,
    numItems: N,
    feature: frequencyFeature(FREQ, N),
    skipInit: true,
  });
  return { cfg, tok, head, w: setHandWeights(tok, tf), hw: setHandWeights(head, tf, 'head.'), tables };
}

function dispose(b: Built): void {
  b.tok.dispose();
  b.head.dispose();
}

const get = (w: Built['w'], k: string): Float64Array => {
  const v = w.get(k);
  if (!v) throw new Error(`no parameter ${k} (have ${[...w.keys()].join(', ')})`);
  return v.data;
};

/** W_m e_m,i + b_m. */
function proj(b: Built, m: string, i: number): number[] {
  const t = b.tables[m]!;
  return linear(row(t.data, t.cols, i), get(b.w, `proj.${m}.weight`), d, get(b.w, `proj.${m}.bias`));
}

/** sum_l CE^l_{SID^l_m(i)} (code width = d: no projection). */
function sidSum(b: Built, m: string, i: number): number[] {
  const s = sids()[m]!;
  const codes = get(b.w, `sid.${m}.codes`);
  const out = new Array<number>(d).fill(0);
  for (let l = 0; l < L; l++) {
    const c = s.ids[i * L + l]!;
    for (let j = 0; j < d; j++) out[j] = (out[j] ?? 0) + (codes[(l * K + c) * d + j] ?? 0);
  }
  return out;
}

/** E'_m,i, through its own Linear when it has one. */
function idPart(b: Built, m: string, i: number): number[] {
  const wt = b.w.get(`id.${m}.weight`)!;
  const width = wt.shape[1]!;
  const e = row(wt.data, width, i);
  const pw = b.w.get(`id.${m}.proj.weight`);
  return pw ? linear(e, pw.data, d, get(b.w, `id.${m}.proj.bias`)) : e;
}

function mlp(b: Built, x: number[]): number[] {
  const hidden = get(b.w, 'mlp.layers.0.bias').length;
  const h = relu(linear(x, get(b.w, 'mlp.layers.0.weight'), hidden, get(b.w, 'mlp.layers.0.bias')));
  return gelu(linear(h, get(b.w, 'mlp.layers.1.weight'), d, get(b.w, 'mlp.layers.1.bias')));
}

const ITEMS = [1, 2, 3, 4, 5];

/** The paper's item token(s) of item i for each variant (Table 2), flattened. */
function expectedTokens(name: VariantName, b: Built, i: number, alternative = false): number[] {
  const mods = b.cfg.modalities;
  switch (name) {
    case 'E4SRec':
      return proj(b, 'collaborative', i);
    case 'ME': {
      const p = proj(b, 'collaborative', i);
      const e = idPart(b, 'collaborative', i);
      return alternative ? [...p, ...e] : p.map((v, j) => v + e[j]!);
    }
    case 'Concat': {
      const cat = mods.flatMap((m) => proj(b, m, i));
      return alternative ? cat : linear(cat, get(b.w, 'linear.weight'), d, get(b.w, 'linear.bias'));
    }
    case 'Concat&MLP':
    case 'CTRL-MM':
      return mlp(
        b,
        mods.flatMap((m) => proj(b, m, i)),
      );
    case 'MME-SID':
    case 'MME-SID-random':
    case 'w/o Fusion':
    case 'SE-SID-MMD':
    case 'SE-SID-MSE':
      return mlp(
        b,
        mods.flatMap((m) => [...proj(b, m, i), ...sidSum(b, m, i)]),
      );
    case 'MME-random':
      return mlp(
        b,
        mods.flatMap((m) => [...proj(b, m, i), ...idPart(b, m, i)]),
      );
    case 'SE-random':
      return idPart(b, 'collaborative', i);
  }
}

/** The fusion weights of item i: softmax(MLP2(MLP1(f_i)) / temperature) (the authors' `mlp_head`, `mlp_meta_embedding`). */
function fusionWeights(b: Built, i: number, terms: number): number[] {
  const f = frequencyFeature(FREQ, N)[i]!;
  const g = (k: string) => get(b.hw, `fusion.${k}`);
  const h1 = gelu(linear([f], g('mlp_head.0.weight'), SMALL_FUSION.hidden, g('mlp_head.0.bias')));
  const meta = linear(h1, g('mlp_head.2.weight'), SMALL_FUSION.metaDim, g('mlp_head.2.bias'));
  const h2 = gelu(linear(meta, g('mlp_meta_embedding.0.weight'), SMALL_FUSION.metaHidden));
  const logits = linear(h2, g('mlp_meta_embedding.2.weight'), terms, g('mlp_meta_embedding.2.bias'));
  return softmax(logits.map((v) => v / SMALL_FUSION.temperature));
}

/** s_i for user vector u: u . T_i (linear head), or sum_j w_ij (term_j) with terms u . T_i, u . (W_m e_m,i + b_m). */
function expectedScore(b: Built, u: number[], i: number): number {
  const tt = get(b.hw, 'target_table_t');
  const target = dot(
    u,
    Array.from({ length: d }, (_, c) => tt[c * (N + 1) + i]!),
  );
  if (b.cfg.head === 'target') return target;
  const terms = [target, ...b.cfg.modalities.map((m) => dot(u, proj(b, m, i)))];
  const w = b.cfg.head === 'equal' ? terms.map(() => 1 / terms.length) : fusionWeights(b, i, terms.length);
  return terms.reduce((s, t, j) => s + w[j]! * t, 0);
}

const U = [
  [0.3, -0.8, 0.5, 0.1],
  [-0.6, 0.2, 0.9, -0.4],
];

async function tokensOf(b: Built): Promise<Float32Array> {
  const t = tf.tidy(() => b.tok.forward(tf.tensor1d(ITEMS, 'int32')));
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

async function scoresOf(b: Built): Promise<Float32Array> {
  const s = tf.tidy(() => b.head.forward(tf.tensor2d(U), b.tok));
  const v = (await s.data()) as Float32Array;
  s.dispose();
  return v;
}

describeBackends('every variant against its paper definition, from hand-set weights', ({ tol }) => {
  const eps = Math.max(2e-5, tol);
  const cases: { name: VariantName; alternative: boolean }[] = [
    ...VARIANT_NAMES.map((name) => ({ name, alternative: false })),
    { name: 'Concat', alternative: true },
    { name: 'ME', alternative: true },
    { name: 'w/o Fusion', alternative: true },
  ];
  for (const { name, alternative } of cases)
    it(`${name}${alternative ? ' (alternative reading)' : ''}: item tokens and scores`, async () => {
      const b = build(name, alternative ? { reading: 'alternative' } : {});
      try {
        const got = await tokensOf(b);
        const want = ITEMS.flatMap((i) => expectedTokens(name, b, i, alternative));
        expect(got.length).toBe(want.length);
        expect(maxAbsDiff(got, want)).toBeLessThan(eps);
        const scores = await scoresOf(b);
        const wantScores = U.flatMap((u) => Array.from({ length: N + 1 }, (_, i) => expectedScore(b, u, i)));
        expect(maxAbsDiff(scores, wantScores)).toBeLessThan(eps);
      } finally {
        dispose(b);
      }
    });
});

describeBackends('which modalities each variant reads', () => {
  /** Tokens and scores with the named tables replaced by other values (same shapes, same weights). */
  async function withTables(name: VariantName, perturb: readonly string[]) {
    const tables = Object.fromEntries(MODS.map((m) => [m, table(m, perturb.includes(m) ? ':other' : '')]));
    const b = build(name, { tables });
    try {
      return { tokens: await tokensOf(b), scores: await scoresOf(b) };
    } finally {
      dispose(b);
    }
  }

  const single: VariantName[] = ['E4SRec', 'ME', 'SE-random', 'SE-SID-MMD', 'SE-SID-MSE'];
  for (const name of single)
    it(`${name} reads no text or visual embedding`, async () => {
      const b = build(name);
      const names = [...b.tok.namedParameters()].map(([n]) => n).join(' ');
      dispose(b);
      expect(names).not.toMatch(/text|visual/);
      const base = await withTables(name, []);
      const other = await withTables(name, ['text', 'visual']);
      expect(maxAbsDiff(base.tokens, other.tokens)).toBe(0);
      expect(maxAbsDiff(base.scores, other.scores)).toBe(0);
    });

  it('SE-random reads no pre-trained table at all (only its random ID table)', async () => {
    const b = build('SE-random');
    expect(b.tok.hasTable('collaborative')).toBe(false);
    expect([...b.tok.namedParameters()].map(([n]) => n)).toEqual([
      'id.collaborative.weight',
      'id.collaborative.proj.weight',
      'id.collaborative.proj.bias',
    ]);
    expect(b.head.termNames).toEqual(['target']);
    dispose(b);
    const base = await withTables('SE-random', []);
    const other = await withTables('SE-random', ['collaborative']);
    expect(maxAbsDiff(base.tokens, other.tokens)).toBe(0);
    expect(maxAbsDiff(base.scores, other.scores)).toBe(0);
  });

  it('the multimodal variants do read text and visual (so the checks above can fail)', async () => {
    for (const name of ['Concat', 'Concat&MLP', 'CTRL-MM', 'MME-SID', 'MME-random'] as const) {
      const base = await withTables(name, []);
      const other = await withTables(name, ['text']);
      expect(maxAbsDiff(base.tokens, other.tokens), name).toBeGreaterThan(1e-3);
    }
  });
});

describeBackends('Concat and CTRL-MM are different functions', () => {
  it("Concat's token is affine in the projected embeddings; CTRL-MM's (an MLP) is not", async () => {
    // For an affine map f, f(x1) - f(x2) - f(x3) + f(x4) = 0 whenever x1 - x2 - x3 + x4 = 0. Build the
    // projected parts of such a quadruple by giving items 1..4 collaborative rows a, b, c, b + c - a.
    const residual = async (name: VariantName) => {
      const tables = Object.fromEntries(MODS.map((m) => [m, table(m)]));
      for (const m of MODS) {
        const t = tables[m]!;
        for (let c = 0; c < t.cols; c++)
          t.data[4 * t.cols + c] =
            t.data[2 * t.cols + c]! + t.data[3 * t.cols + c]! - t.data[1 * t.cols + c]!;
      }
      const b = build(name, { tables });
      try {
        const tok = await tokensOf(b);
        const r = (i: number) => Array.from({ length: d }, (_, j) => tok[(i - 1) * d + j]!);
        return Math.max(...r(1).map((v, j) => Math.abs(v - r(2)[j]! - r(3)[j]! + r(4)[j]!)));
      } finally {
        dispose(b);
      }
    };
    expect(await residual('Concat')).toBeLessThan(1e-5);
    expect(await residual('CTRL-MM')).toBeGreaterThan(1e-3);
  });

  it('only CTRL-MM adds the alignment loss; its token function is exactly Concat&MLP', () => {
    const all = [...MODS];
    expect(variantConfig('CTRL-MM', {}, all).alignment.weight).toBeGreaterThan(0);
    expect(variantConfig('Concat', {}, all).alignment.weight).toBe(0);
    expect(variantConfig('Concat&MLP', {}, all).alignment.weight).toBe(0);
    expect(variantConfig('CTRL-MM', {}, all).itemToken).toEqual(
      variantConfig('Concat&MLP', {}, all).itemToken,
    );
    expect(variantConfig('Concat', {}, all).itemToken).not.toEqual(
      variantConfig('CTRL-MM', {}, all).itemToken,
    );
  });
});
