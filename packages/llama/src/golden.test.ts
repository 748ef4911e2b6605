/**
 * stories260k against llama2.c's run.c (golden.json in the shared model folder): logits, greedy
 * generations, KV-cache decoding, padding and both loaders. See that folder's README for how the
 * golden values were made.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LlamaForCausalLM } from './causal-lm.js';
import { KVCache } from './kv-cache.js';
import { loadLlama2c } from './load/llama2c.js';
import { fromPretrained } from './load/pretrained.js';

const s = sharedDir('models', 'stories260k');

interface Generation {
  prompt: string;
  steps: number;
  prompt_ids: number[];
  generated_ids: number[];
  all_ids: number[];
  top5_at_first_3_generated_positions: { pos: number; top5: { id: number; logit: number }[] }[];
  max_logit_per_position: number[];
  logits_at_first_generated_position: number[];
}

/** Tolerance against run.c's float32 logits (magnitudes up to ~22). The README's numpy check reached 2.3e-5. */
const LOGIT_TOL = { cpu: 1e-4, wasm: 1e-4, webgpu: 1e-3, tensorflow: 1e-4 } as const;

/** Loads golden.json and the safetensors model once per suite. */
function useStories() {
  const ctx = { gens: [] as Generation[], lm: undefined as unknown as LlamaForCausalLM };
  beforeAll(async () => {
    if (!s.path) return;
    ctx.gens = (
      JSON.parse(readFileSync(join(s.path, 'golden.json'), 'utf8')) as { generations: Generation[] }
    ).generations;
    ctx.lm = await fromPretrained(s.path, { log: false });
  });
  afterAll(() => ctx.lm?.dispose());
  return ctx;
}

// WebGPU runs on SwiftShader here (~100x slower than WASM, and every new sequence length compiles new
// shaders), so it gets shorter versions of the core checks and skips the extended ones.
describeBackends('stories260k golden outputs (run.c)', ({ backend, tol }) => {
  const ctx = useStories();
  const logitTol = LOGIT_TOL[backend];

  it.skipIf(!s.path)(
    'full-sequence logits match run.c: first sampled position (512), top-5, max per position',
    async () => {
      const runs = backend === 'webgpu' ? ctx.gens.slice(1, 2) : ctx.gens;
      let worst = 0;
      for (const g of runs) {
        const ids = g.all_ids.slice(0, g.steps);
        const out = ctx.lm.forward({ inputIds: [ids] });
        const logits = (await out.logits!.data()) as Float32Array;
        tf.dispose([out.logits!, out.lastHiddenState]);
        const V = 512;
        const row = (p: number) => logits.subarray(p * V, (p + 1) * V);
        const first = g.prompt_ids.length - 1;
        worst = Math.max(worst, maxAbsDiff(row(first), g.logits_at_first_generated_position));
        const maxes = Array.from({ length: g.steps }, (_, p) => Math.max(...row(p)));
        worst = Math.max(worst, maxAbsDiff(maxes, g.max_logit_per_position));
        for (const t of g.top5_at_first_3_generated_positions) {
          const r = row(t.pos);
          const order = Array.from(r.keys())
            .sort((a, b) => r[b]! - r[a]!)
            .slice(0, 5);
          expect(order, `${JSON.stringify(g.prompt)} pos ${t.pos}`).toEqual(t.top5.map((x) => x.id));
          worst = Math.max(
            worst,
            maxAbsDiff(
              order.map((i) => r[i]!),
              t.top5.map((x) => x.logit),
            ),
          );
        }
      }
      console.log(
        `[stories260k ${backend}] max |logit - run.c| = ${worst.toExponential(2)} over ${runs.length} runs`,
      );
      expect(worst).toBeLessThan(logitTol);
    },
  );

  it.skipIf(!s.path)('greedy generation reproduces run.c token for token', async () => {
    // run.c -n steps counts prompt positions: BOS + steps tokens, so steps - len(prompt) + 1 new ones.
    const runs =
      backend === 'webgpu' ? [] : backend === 'wasm' ? ctx.gens : ctx.gens.filter((g) => g.steps === 64);
    for (const g of runs) {
      const r = await ctx.lm.generate(g.prompt_ids, {
        maxNewTokens: g.steps - g.prompt_ids.length + 1,
        eosTokenId: null,
        stopOnBos: true,
      });
      expect(r.ids, JSON.stringify(g.prompt)).toEqual(g.generated_ids);
    }
    if (backend === 'webgpu') {
      // SwiftShader is slow: one short run.
      const g = ctx.gens[0]!;
      const r = await ctx.lm.generate(g.prompt_ids, { maxNewTokens: 4, eosTokenId: null, stopOnBos: true });
      expect(r.ids).toEqual(g.generated_ids.slice(0, 4));
    }
  });

  it.skipIf(!s.path)(
    'incremental decoding with the KV cache equals the full forward at every position',
    async () => {
      const g = ctx.gens[2]!; // "Lily and Tom went to the"
      const n = backend === 'webgpu' ? 10 : 40;
      const ids = g.all_ids.slice(0, n);
      const full = ctx.lm.forward({ inputIds: [ids] });
      const cache = new KVCache(ctx.lm.config.num_hidden_layers);
      const parts: tf.Tensor[] = [];
      let at = 0;
      for (const size of backend === 'webgpu' ? [g.prompt_ids.length, 1] : [g.prompt_ids.length, 1, 3, 1]) {
        const o = ctx.lm.forward({ inputIds: [ids.slice(at, at + size)], cache });
        parts.push(o.logits!);
        o.lastHiddenState.dispose();
        at += size;
      }
      while (at < n) {
        const o = ctx.lm.forward({ inputIds: [[ids[at]!]], cache });
        parts.push(o.logits!);
        o.lastHiddenState.dispose();
        at++;
      }
      const inc = tf.concat(parts, 1);
      const d = maxAbsDiff(await full.logits!.data(), await inc.data());
      console.log(`[stories260k ${backend}] max |cached - full| = ${d.toExponential(2)} over ${n} positions`);
      expect(d).toBeLessThan(backend === 'webgpu' ? 1e-3 : tol * 10);
      cache.dispose();
      tf.dispose([full.logits!, full.lastHiddenState, inc, ...parts]);
    },
  );
});

describeBackends(
  'stories260k golden outputs (run.c), extended',
  ({ backend, tol }) => {
    const ctx = useStories();
    it.skipIf(!s.path)(
      'left padding: a padded batch gives the unpadded last-token logits, and decodes the same',
      async () => {
        const a = ctx.gens[2]!.prompt_ids; // 9 tokens
        const b = ctx.gens[3]!.prompt_ids; // 4 tokens, left-padded with 5 zeros
        const pad = a.length - b.length;
        const inputIds = [a, [...new Array(pad).fill(0), ...b]];
        const mask = [a.map(() => 1), [...new Array(pad).fill(0), ...b.map(() => 1)]];
        const batch = ctx.lm.forward({ inputIds, attentionMask: mask, logitsFor: 'last' });
        const soloA = ctx.lm.forward({ inputIds: [a], logitsFor: 'last' });
        const soloB = ctx.lm.forward({ inputIds: [b], logitsFor: 'last' });
        const bl = (await batch.logits!.data()) as Float32Array;
        const limit = backend === 'webgpu' ? 1e-3 : tol * 10;
        expect(maxAbsDiff(bl.subarray(0, 512), await soloA.logits!.data())).toBeLessThan(limit);
        expect(maxAbsDiff(bl.subarray(512), await soloB.logits!.data())).toBeLessThan(limit);
        tf.dispose([
          batch.logits!,
          batch.lastHiddenState,
          soloA.logits!,
          soloA.lastHiddenState,
          soloB.logits!,
          soloB.lastHiddenState,
        ]);

        // Batched greedy decoding with the cache and a growing mask follows both golden continuations.
        const steps = backend === 'webgpu' ? 2 : 6;
        const cache = new KVCache(ctx.lm.config.num_hidden_layers);
        let feed = inputIds;
        const m = mask.map((r) => [...r]);
        const got: number[][] = [[], []];
        for (let i = 0; i < steps; i++) {
          const o = ctx.lm.forward({ inputIds: feed, attentionMask: m, cache, logitsFor: 'last' });
          const am = tf.argMax(o.logits!, -1);
          const next = Array.from((await am.data()) as Int32Array);
          tf.dispose([o.logits!, o.lastHiddenState, am]);
          next.forEach((t, j) => {
            got[j]!.push(t);
            m[j]!.push(1);
          });
          feed = next.map((t) => [t]);
        }
        cache.dispose();
        expect(got[0]).toEqual(ctx.gens[2]!.generated_ids.slice(0, steps));
        expect(got[1]).toEqual(ctx.gens[3]!.generated_ids.slice(0, steps));
      },
    );

    it.skipIf(!s.path)(
      'bidirectional attention changes the output of early positions; causal matches run.c',
      async () => {
        const ids = [ctx.gens[1]!.prompt_ids];
        const causal = ctx.lm.forward({ inputIds: ids, returnLogits: false });
        const bidir = ctx.lm.forward({ inputIds: ids, returnLogits: false, causal: false });
        expect(
          maxAbsDiff(await causal.lastHiddenState.data(), await bidir.lastHiddenState.data()),
        ).toBeGreaterThan(1e-2);
        tf.dispose([causal.lastHiddenState, bidir.lastHiddenState]);
      },
    );

    it.skipIf(!s.path)(
      'the llama2.c .bin loader gives the same weights as model.safetensors, bit for bit',
      async () => {
        const other = await loadLlama2c(join(s.path!, 'stories260K.bin'));
        try {
          const a = ctx.lm.stateDict();
          const b = other.stateDict();
          // The .bin shares the classifier with the embedding; the safetensors file stores a copy as lm_head.
          expect(other.hasLmHead).toBe(false);
          expect(Object.keys(b).sort()).toEqual(
            Object.keys(a)
              .filter((k) => k !== 'lm_head.weight')
              .sort(),
          );
          for (const k of Object.keys(b))
            expect(maxAbsDiff(await a[k]!.data(), await b[k]!.data()), k).toBe(0);
          expect(
            maxAbsDiff(await a['lm_head.weight']!.data(), await b['model.embed_tokens.weight']!.data()),
          ).toBe(0);
          const x = ctx.lm.forward({ inputIds: [ctx.gens[1]!.all_ids.slice(0, 20)] });
          const y = other.forward({ inputIds: [ctx.gens[1]!.all_ids.slice(0, 20)] });
          expect(maxAbsDiff(await x.logits!.data(), await y.logits!.data())).toBe(0);
          tf.dispose([x.logits!, x.lastHiddenState, y.logits!, y.lastHiddenState]);
        } finally {
          other.dispose();
        }
      },
    );
  },
  {
    exclude: { webgpu: 'SwiftShader is ~100x slower than WASM; the core suite above covers WebGPU numerics' },
  },
);
