import { liveTensors, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { describe, expect, it } from 'vitest';
import { tinyData, tinyModel } from './__fixtures__/tiny.js';
import type { FusionConfigInput } from './config.js';
import { evaluateMmeSid, lengthBatches } from './evaluate.js';
import { FrozenScorer } from './inference.js';
import type { MmeSidModel } from './model.js';
import { VARIANT_NAMES, VARIANTS, variantConfig } from './variants.js';

/** LoRA B non-zero (seeded), so the prefix keys/values and every token depend on the adapters. */
function perturbLora(model: MmeSidModel, seed = 9): void {
  for (const l of model.lora!.layers.values())
    tf.tidy(() => l.loraB.weight.assign(tf.randomNormal(l.loraB.weight.shape, 0, 0.05, 'float32', seed)));
}

/** Histories of different lengths (so rows are left-padded), one repeated, in input order. */
function histories(): Int32Array[] {
  const { split } = tinyData();
  return [...split.test.slice(0, 6).map((e) => Int32Array.from(e.history)), Int32Array.of(3)];
}

async function bits(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describeBackends(
  'FrozenScorer: the same scores as model.score',
  ({ backend }) => {
    it('every variant (and each alternative reading; three on cpu), items before and after a response header: bit-equal scores and user representations', async () => {
      const all = Object.keys(tinyData().tables);
      const configs: FusionConfigInput[] = [
        ...VARIANT_NAMES.map((v) => variantConfig(v, {}, all)),
        ...VARIANT_NAMES.filter((v) => VARIANTS[v].alternative).map((v) =>
          variantConfig(v, {}, all, { reading: 'alternative' }),
        ),
      ];
      const hs = histories();
      // Items at the end (the efficient mode, what the study evaluates) for every variant; items
      // before a response header (suffix rows in the gather) for MME-SID and a three-token reading.
      // cpu (the same code path, ~3x slower here) runs one variant per head kind and token layout.
      const onCpu = new Set(['MME-SID', 'E4SRec', 'w/o Fusion']);
      const cases = [
        ...configs
          .filter((_, i) => backend !== 'cpu' || (i < VARIANT_NAMES.length && onCpu.has(VARIANT_NAMES[i]!)))
          .map((c) => [c, true] as const),
        [variantConfig('MME-SID', {}, all), false] as const,
        [variantConfig('Concat', {}, all, { reading: 'alternative' }), false] as const,
      ];
      for (const [config, itemsAtEnd] of cases) {
        // Let the test worker's event loop breathe between models (vitest's RPC times out otherwise
        // on a loaded machine).
        await new Promise((r) => setTimeout(r, 0));
        const model = await tinyModel({ ...config, itemsAtEnd });
        try {
          perturbLora(model);
          model.eval();
          // The model's own lazily built caches (transposed tables) exist before the count.
          tf.dispose(model.score(hs));
          const before = liveTensors();
          const scorer = new FrozenScorer(model);
          try {
            const label = `${JSON.stringify(config)} itemsAtEnd ${itemsAtEnd}`;
            const want = await bits(model.score(hs));
            const got = await bits(scorer.score(hs));
            expect(maxAbsDiff(got, want), label).toBe(0);
            const uWant = await bits(model.userRepresentations(hs));
            const uGot = await bits(scorer.userRepresentations(hs));
            expect(maxAbsDiff(uGot, uWant), label).toBe(0);
            // A second batch of another size reuses the prefix and tokens (and tiles once more).
            const sub = hs.slice(1, 4);
            expect(maxAbsDiff(await bits(scorer.score(sub)), await bits(model.score(sub))), label).toBe(0);
          } finally {
            scorer.dispose();
          }
          expect(liveTensors()).toBe(before);
        } finally {
          model.dispose();
        }
      }
    });

    it('empty histories: a batch mixing them with others, and a batch of only empty ones (items at the end)', async () => {
      const model = await tinyModel({ itemsAtEnd: true });
      try {
        perturbLora(model);
        model.eval();
        const scorer = new FrozenScorer(model);
        try {
          const mixed = [Int32Array.of(4, 9, 2), new Int32Array(0), Int32Array.of(7)];
          expect(maxAbsDiff(await bits(scorer.score(mixed)), await bits(model.score(mixed)))).toBe(0);
          const empty = [new Int32Array(0), new Int32Array(0)];
          expect(maxAbsDiff(await bits(scorer.score(empty)), await bits(model.score(empty)))).toBe(0);
        } finally {
          scorer.dispose();
        }
      } finally {
        model.dispose();
      }
    });

    it('one history: the cached prefix equals feeding the whole prompt (model.score does for B = 1) within float32 rounding', async () => {
      const model = await tinyModel();
      try {
        perturbLora(model);
        model.eval();
        const scorer = new FrozenScorer(model);
        try {
          const one = [Int32Array.of(5, 8, 13, 2)];
          const want = await bits(model.score(one));
          const got = await bits(scorer.score(one));
          const scale = Math.max(...Array.from(want, Math.abs));
          expect(maxAbsDiff(got, want)).toBeLessThan(1e-5 * scale);
        } finally {
          scorer.dispose();
        }
      } finally {
        model.dispose();
      }
    });

    it('refuses to score after dispose, in training mode, and items outside 1..N', async () => {
      const model = await tinyModel();
      const { numItems: N } = tinyData();
      try {
        const scorer = new FrozenScorer(model);
        expect(model.training).toBe(false);
        expect(() => scorer.score([[N + 1]])).toThrow(/item 61 at position 0 is not an item id in 1\.\.60/);
        expect(() => scorer.score([[1, 0]])).toThrow(/item 0 at position 1/);
        expect(() => scorer.score([])).toThrow(/empty batch/);
        model.train();
        expect(() => scorer.score([[1]])).toThrow(/training mode/);
        model.eval();
        scorer.dispose();
        scorer.dispose();
        expect(() => scorer.score([[1]])).toThrow(/after dispose/);
        expect(() => new FrozenScorer(model, { tokenChunk: 0 })).toThrow(/tokenChunk/);
      } finally {
        model.dispose();
      }
    });

    it('item tokens built in chunks equal one pass and the per-batch tokenizer', async () => {
      const model = await tinyModel();
      try {
        perturbLora(model);
        model.eval();
        const hs = histories();
        const want = await bits(model.score(hs));
        // Chunks of 7 and more rows: tfjs-backend-wasm hands products under 4,096 multiply-adds (one
        // fixture item) to a scalar kernel that sums in another order, as it would in model.score.
        for (const tokenChunk of [7, 16, 1000]) {
          const scorer = new FrozenScorer(model, { tokenChunk });
          try {
            expect(maxAbsDiff(await bits(scorer.score(hs)), want), `chunk ${tokenChunk}`).toBe(0);
          } finally {
            scorer.dispose();
          }
        }
      } finally {
        model.dispose();
      }
    });
  },
  {
    exclude: {
      webgpu:
        'bit equality is a cpu/wasm property (the same kernels on the same values); SwiftShader runs the LLM ~100x slower',
    },
  },
);

describeBackends(
  'evaluateMmeSid: length-sorted batches through the frozen scorer',
  () => {
    it('the same ranks and metrics as model.score in input-order batches, for several batch sizes and token budgets', async () => {
      const model = await tinyModel({ itemsAtEnd: true });
      const { split } = tinyData();
      try {
        perturbLora(model);
        const test = split.test;
        const ref = await evaluateMmeSid(model, test, { batchSize: 5, order: 'input', scorer: 'model' });
        for (const [batchSize, batchTokens] of [
          [5, 512],
          [16, 20],
          [64, 1],
          [3, 1000],
        ] as const) {
          const sizes: number[] = [];
          let last = 0;
          const r = await evaluateMmeSid(model, test, {
            batchSize,
            batchTokens,
            onProgress: (done, total) => {
              expect(total).toBe(test.length);
              sizes.push(done - last);
              last = done;
            },
          });
          const label = `batchSize ${batchSize} batchTokens ${batchTokens}`;
          expect(Array.from(r.ranks), label).toEqual(Array.from(ref.ranks));
          expect(r.metrics, label).toEqual(ref.metrics);
          expect(last).toBe(test.length);
          // Batches follow the sorted lengths: at most batchSize users, and more than one user only
          // while users x the longest (last) history fits the token budget.
          const lengths = test.map((e) => e.history.length).sort((a, b) => a - b);
          let o = 0;
          for (const n of sizes) {
            expect(n).toBeLessThanOrEqual(batchSize);
            if (n > 1) expect(n * lengths[o + n - 1]!).toBeLessThanOrEqual(batchTokens);
            // Greedy: the next user would not have fitted.
            if (o + n < lengths.length && n < batchSize)
              expect((n + 1) * lengths[o + n]!).toBeGreaterThan(batchTokens);
            o += n;
          }
        }
        // Input order with the frozen scorer: the same batches as the reference, the same ranks.
        const frozenInput = await evaluateMmeSid(model, test, { batchSize: 5, order: 'input' });
        expect(Array.from(frozenInput.ranks)).toEqual(Array.from(ref.ranks));
      } finally {
        model.dispose();
      }
    });

    it('refuses a batch size or token budget that is not a positive integer', async () => {
      const model = await tinyModel();
      const { split } = tinyData();
      try {
        await expect(evaluateMmeSid(model, split.test, { batchSize: 0 })).rejects.toThrow(/batchSize/);
        await expect(evaluateMmeSid(model, split.test, { batchTokens: 2.5 })).rejects.toThrow(/batchTokens/);
      } finally {
        model.dispose();
      }
    });
  },
  {
    exclude: {
      webgpu: 'runs the LLM over a whole test split; SwiftShader is ~100x slower than WASM',
    },
  },
);

describe('lengthBatches', () => {
  it('sorts by length (stable) and cuts greedy batches under the user and token limits', () => {
    expect(lengthBatches([3, 1, 8, 2], 2, 10)).toEqual([[1, 3], [0], [2]]);
    // Equal lengths keep input order; a single user always fits, however long.
    expect(lengthBatches([2, 2, 50, 2], 8, 6)).toEqual([[0, 1, 3], [2]]);
    // Tokens per item multiply the length.
    expect(lengthBatches([2, 2, 2], 8, 6, 3)).toEqual([[0], [1], [2]]);
    expect(lengthBatches([], 4, 100)).toEqual([]);
  });
});
