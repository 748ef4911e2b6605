import { Rng, tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { handValues, linear, maxAbsDiff, setHandWeights } from './__fixtures__/reference.js';
import type { ModalitySemanticIds } from './item-data.js';
import { SidEmbedding } from './sid-embedding.js';

// SID embeddings: item i's embedding is sum_l CE^l[SID^l(i)] (then W, when the code width e differs
// from d), each level indexing its own table; checked against the sum written out in JS.

const L = 3;
const K = 4;
const e = 5;
const ROWS = 6;

function sids(): ModalitySemanticIds {
  const ids = new Int32Array(ROWS * L);
  for (let i = 1; i < ROWS; i++) for (let l = 0; l < L; l++) ids[i * L + l] = (i + 2 * l) % K;
  return {
    ids,
    levels: L,
    codebookSize: K,
    dim: e,
    codebooks: Float32Array.from(handValues('cb', L * K * e)),
  };
}

function expectedSum(codes: ArrayLike<number>, s: ModalitySemanticIds, i: number, width: number): number[] {
  const out = new Array<number>(width).fill(0);
  for (let l = 0; l < L; l++) {
    const c = s.ids[i * L + l]!;
    for (let j = 0; j < width; j++) out[j] = out[j]! + codes[(l * K + c) * width + j]!;
  }
  return out;
}

describeBackends('SidEmbedding', ({ tol }) => {
  const eps = Math.max(1e-5, tol);
  const items = [1, 2, 3, 4, 5];

  it('codebook init: the tables are the codebooks and an item sums its L level codes', async () => {
    const s = sids();
    const emb = new SidEmbedding(s, e, { init: 'codebook', projection: 'learned', rng: new Rng(0) });
    try {
      expect(maxAbsDiff(await emb.codes.data(), s.codebooks!)).toBe(0);
      const got = tf.tidy(() => emb.forward(tf.tensor1d(items, 'int32')));
      expect(
        maxAbsDiff(
          await got.data(),
          items.flatMap((i) => expectedSum(s.codebooks!, s, i, e)),
        ),
      ).toBeLessThan(eps);
      got.dispose();
    } finally {
      emb.dispose();
    }
  });

  it('a learned projection maps the summed codes: W (sum_l CE^l), hand-set W', async () => {
    const s = sids();
    const d = 3;
    const emb = new SidEmbedding(s, d, { init: 'codebook', projection: 'learned', skipInit: true });
    try {
      const w = setHandWeights(emb, tf);
      const codes = w.get('codes')!.data;
      const W = w.get('proj.weight')!.data;
      const got = tf.tidy(() => emb.forward(tf.tensor1d(items, 'int32')));
      const want = items.flatMap((i) => linear(expectedSum(codes, s, i, e), W, d));
      expect(maxAbsDiff(await got.data(), want)).toBeLessThan(eps);
      got.dispose();
    } finally {
      emb.dispose();
    }
  });

  it('random init draws N(0, s^2) with s the std of the codebook values', async () => {
    const s = { ...sids(), codebooks: new Float32Array(L * K * e).map((_, i) => (i % 2 ? 3 : -3)) };
    const big = { ...s, codebookSize: K, ids: s.ids };
    const emb = new SidEmbedding(big, e, { init: 'random', projection: 'learned', rng: new Rng(3) });
    try {
      const v = Array.from(await emb.codes.data());
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      expect(std).toBeGreaterThan(2);
      expect(std).toBeLessThan(4);
    } finally {
      emb.dispose();
    }
  });
});
