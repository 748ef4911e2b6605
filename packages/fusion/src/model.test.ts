import { LlamaModel } from '@mmesid/llama';
import { AdamW, expectNoLeaks, gelu, Rng, Trainer, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { TINY_LLAMA, tinyData, tinyModel } from './__fixtures__/tiny.js';
import type { MmeSidModel } from './model.js';
import { VARIANT_NAMES, VARIANTS, variantConfig } from './variants.js';

/** Collects tensors a test makes so it can free them all at the end. */
function tracker() {
  const live: tf.Tensor[] = [];
  const t = <T extends tf.Tensor>(x: T): T => {
    live.push(x);
    return x;
  };
  return { t, dispose: () => tf.dispose(live) };
}

const hist = () => {
  const { split } = tinyData();
  return split.test.slice(0, 5).map((e) => e.history);
};

describeBackends(
  'MmeSidModel: shapes and init',
  ({ tol }) => {
    it('item tokens [n, d], user representations [B, d], scores [B, N + 1], fusion weights [N + 1, 1 + M] summing to 1', async () => {
      const model = await tinyModel();
      const { numItems: N } = tinyData();
      try {
        const tokens = tf.tidy(() => model.tokens.forward(tf.tensor1d([1, 2, 3], 'int32')));
        expect(tokens.shape).toEqual([3, 32]);
        expect(model.tokens.partsWidth).toBe(6 * 32); // [proj_m, sid_m] x 3 modalities
        const u = model.userRepresentations(hist());
        expect(u.shape).toEqual([5, 32]);
        const s = model.score(hist());
        expect(s.shape).toEqual([5, N + 1]);
        const w = model.fusionWeights();
        expect(w.shape).toEqual([N + 1, 4]);
        expect(model.termNames).toEqual(['target', 'collaborative', 'visual', 'text']);
        const sumT = tf.sum(w, 1);
        const sums = await sumT.data();
        sumT.dispose();
        expect(maxAbsDiff(sums, new Float32Array(N + 1).fill(1))).toBeLessThan(tol * 10);
        const values = await s.data();
        expect(values.every(Number.isFinite)).toBe(true);
        tf.dispose([tokens, u, s, w]);
      } finally {
        model.dispose();
      }
    });

    it('fusion weights from the distinct frequency values equal the MLPs run on every item, softmax(out / temperature)', async () => {
      const model = await tinyModel({ fusion: { temperature: 0.5 } });
      try {
        const fusion = model.head.fusion!;
        const direct = tf.tidy(() => {
          const l = (p: string) => fusion.getModule(p) as unknown as { forward(x: tf.Tensor): tf.Tensor };
          const meta = l('mlp_head.2').forward(gelu(l('mlp_head.0').forward(fusion.feature())));
          return tf.softmax(
            tf.div(l('mlp_meta_embedding.2').forward(gelu(l('mlp_meta_embedding.0').forward(meta))), 0.5),
          );
        });
        const w = model.fusionWeights();
        expect(maxAbsDiff(await w.data(), await direct.data())).toBeLessThan(1e-6);
        const feature = fusion.feature();
        const f = await feature.data();
        expect(new Set(f).size).toBeLessThan(f.length / 2); // items share frequencies: fewer MLP rows
        expect(f[0]).toBe(0);
        tf.dispose([direct, w, feature]);
      } finally {
        model.dispose();
      }
    });

    it('codebook-initialised SID embeddings equal the codebooks, and an item sums its L codes (then the learned projection)', async () => {
      const model = await tinyModel();
      const { semanticIds } = tinyData();
      const { t, dispose } = tracker();
      try {
        const sid = model.tokens.sidEmbedding('text')!;
        const cb = semanticIds.text!;
        expect(sid.codes.shape).toEqual([3, 8, 24]);
        expect(maxAbsDiff(await sid.codes.data(), cb.codebooks!)).toBe(0);
        const item = 9;
        const manual = new Float32Array(24);
        for (let l = 0; l < 3; l++) {
          const code = cb.ids[item * 3 + l]!;
          for (let c = 0; c < 24; c++) manual[c]! += cb.codebooks![(l * 8 + code) * 24 + c] as number;
        }
        const ids = t(tf.tensor1d([item], 'int32'));
        const summed = t(sid.summed(ids));
        expect(maxAbsDiff(await summed.data(), manual)).toBeLessThan(tol);
        const projected = t(sid.forward(ids));
        const proj = t(
          (sid.getModule('proj') as unknown as { forward(x: tf.Tensor): tf.Tensor }).forward(summed),
        );
        expect(maxAbsDiff(await projected.data(), await proj.data())).toBeLessThan(tol);
      } finally {
        dispose();
        model.dispose();
      }
    });

    it("fixed projection: d-wide tables that keep the codebooks' pairwise distances roughly; random init matches the codebook scale", async () => {
      const fixed = await tinyModel({ sid: { projection: 'fixed' } });
      const random = await tinyModel({ sid: { init: 'random' } });
      const { semanticIds } = tinyData();
      try {
        const f = fixed.tokens.sidEmbedding('collaborative')!;
        expect(f.codes.shape).toEqual([3, 8, 32]);
        expect(f.getModule('proj')).toBeUndefined();
        const cb = semanticIds.collaborative!.codebooks!;
        const std = (a: ArrayLike<number>) => {
          let s = 0;
          let s2 = 0;
          for (let i = 0; i < a.length; i++) {
            s += a[i]!;
            s2 += a[i]! * a[i]!;
          }
          return Math.sqrt(s2 / a.length - (s / a.length) ** 2);
        };
        const r = await random.tokens.sidEmbedding('collaborative')!.codes.data();
        expect(Math.abs(std(r) / std(cb) - 1)).toBeLessThan(0.15);
        expect(maxAbsDiff(r, cb)).toBeGreaterThan(0.1);
        // Squared norms are preserved in expectation by the N(0, 1/d) map: check the total within 30%.
        const fc = await f.codes.data();
        let n0 = 0;
        let n1 = 0;
        for (const v of cb) n0 += v * v;
        for (const v of fc) n1 += v * v;
        expect(Math.abs(n1 / n0 - 1)).toBeLessThan(0.3);
      } finally {
        fixed.dispose();
        random.dispose();
      }
    });

    it('a history scores the same alone and in a left-padded batch with longer ones', async () => {
      const model = await tinyModel();
      const { t, dispose } = tracker();
      try {
        const h = hist();
        const batch = await t(model.score(h)).array();
        const short = h.reduce((a, b) => (b.length < a.length ? b : a));
        const i = h.indexOf(short);
        expect(h.some((x) => x.length > short.length)).toBe(true);
        const alone = await t(model.score([short])).array();
        expect(maxAbsDiff(batch[i]!, alone[0]!)).toBeLessThan(tol * 100);
      } finally {
        dispose();
        model.dispose();
      }
    });
  },
  {
    exclude: { webgpu: 'covered by the smoke suite below; SwiftShader makes every LLM forward ~100x slower' },
  },
);

/**
 * Scores every prefix of `seq` both ways, the paper's (one forward per prefix) and the efficient
 * one (one forward, a representation per prefix), expects them equal, and returns the paper's.
 */
async function expectEfficientEqualsPaper(
  model: MmeSidModel,
  seq: Int32Array,
  prefixes: number[],
  t: <T extends tf.Tensor>(x: T) => T,
  tol: number,
): Promise<number[][]> {
  const paper = await t(model.score(prefixes.map((n) => seq.subarray(0, n)))).array();
  const eff = await t(
    tf.tidy(() =>
      model.scoreRepresentations(model.prefixRepresentations([{ items: seq, prefixLengths: prefixes }])),
    ),
  ).array();
  for (let j = 0; j < prefixes.length; j++) expect(maxAbsDiff(paper[j]!, eff[j]!)).toBeLessThan(tol * 100);
  return paper;
}

describeBackends(
  'MmeSidModel: paper vs efficient, LoRA at init, gradients',
  ({ tol }) => {
    it('paper and efficient paths compute the same scores for the same prefixes at init', async () => {
      const model = await tinyModel({ itemsAtEnd: true });
      const { t, dispose } = tracker();
      try {
        const seq = tinyData().split.test[3]!.history;
        const prefixes = [0, 1, 2, seq.length];
        await expectEfficientEqualsPaper(model, seq, prefixes, t, tol);
        // And two sequences of different lengths batched together read the right rows.
        const other = tinyData().split.test[0]!.history;
        const both = await t(
          tf.tidy(() =>
            model.scoreRepresentations(
              model.prefixRepresentations([
                { items: other, prefixLengths: [other.length] },
                { items: seq, prefixLengths: [1] },
              ]),
            ),
          ),
        ).array();
        const ref = await t(model.score([other, seq.subarray(0, 1)])).array();
        expect(maxAbsDiff(both[0]!, ref[0]!)).toBeLessThan(tol * 100);
        expect(maxAbsDiff(both[1]!, ref[1]!)).toBeLessThan(tol * 100);
      } finally {
        dispose();
        model.dispose();
      }
    });

    it('several tokens per item (Concat, three tokens): the efficient path reads the last token of each item', async () => {
      const cfg = variantConfig('Concat', { itemsAtEnd: true }, Object.keys(tinyData().tables), {
        reading: 'alternative',
      });
      const model = await tinyModel(cfg);
      const { t, dispose } = tracker();
      try {
        expect(model.tokens.tokensPerItem).toBe(3);
        const tok = t(tf.tidy(() => model.tokens.forward(tf.tensor1d([4, 9], 'int32'))));
        expect(tok.shape).toEqual([6, 32]);
        const seq = tinyData().split.test[3]!.history;
        const prefixes = [0, 1, 2, seq.length];
        const paper = await expectEfficientEqualsPaper(model, seq, prefixes, t, tol);
        model.sharePrefix = false;
        const whole = await t(model.score(prefixes.map((n) => seq.subarray(0, n)))).array();
        for (let j = 0; j < prefixes.length; j++)
          expect(maxAbsDiff(paper[j]!, whole[j]!)).toBeLessThan(tol * 100);
      } finally {
        dispose();
        model.dispose();
      }
    });

    it('sharing the prompt prefix across a batch (KV cache) changes neither scores nor gradients', async () => {
      const model = await tinyModel({ lora: { dropout: 0 } });
      const { t, dispose } = tracker();
      try {
        const { split } = tinyData();
        const batch = [...split.train.slice(0, 3), { history: new Int32Array(0), target: 4 }];
        const params = [...model.trainableParameters().values()];
        // Make LoRA B non-zero so the prefix's hidden states depend on trainable weights.
        for (const l of model.lora!.layers.values())
          l.loraB.weight.assign(t(tf.randomNormal(l.loraB.weight.shape, 0, 0.05, 'float32', 9)));
        const run = async (share: boolean) => {
          model.sharePrefix = share;
          const g = tf.variableGrads(
            () =>
              model.lossFromScores(
                model.score(batch.map((e) => e.history)),
                batch.map((e) => e.target),
              ),
            params,
          );
          t(g.value);
          for (const v of Object.values(g.grads)) t(v);
          return { loss: (await g.value.data())[0]!, grads: g.grads };
        };
        const shared = await run(true);
        const whole = await run(false);
        expect(Math.abs(shared.loss - whole.loss)).toBeLessThan(tol * 100);
        for (const p of params)
          expect(
            maxAbsDiff(await shared.grads[p.name]!.data(), await whole.grads[p.name]!.data()),
            p.name,
          ).toBeLessThan(tol * 100);
        const loraA = model.trainableParameters().get('llm.layers.0.mlp.gate_proj.lora_A.weight')!;
        expect(Math.max(...(await shared.grads[loraA.name]!.data()).map(Math.abs))).toBeGreaterThan(0);
      } finally {
        model.sharePrefix = true;
        dispose();
        model.dispose();
      }
    });

    it('refuses the efficient path when a response header follows the items', async () => {
      const model = await tinyModel();
      try {
        expect(() => model.prefixRepresentations([{ items: [1, 2], prefixLengths: [1] }])).toThrow(
          /itemsAtEnd/,
        );
      } finally {
        model.dispose();
      }
    });

    it('LoRA B = 0 at init: the LLM computes exactly what the base model computes', async () => {
      const model = await tinyModel({}, 3);
      const base = new LlamaModel(TINY_LLAMA, { rng: new Rng('tiny-llama:3') });
      try {
        expect(model.lora!.layers.size).toBe(2 * 3);
        for (const [path, l] of model.lora!.layers) {
          expect(path).toMatch(/^layers\.\d\.mlp\.(gate|up|down)_proj$/);
          expect(l.scaling).toBe(2);
          expect(l.r).toBe(8);
          expect(Math.max(...(await l.loraB.weight.data()).map(Math.abs))).toBe(0);
        }
        const { embeds, mask } = model.embedPrompts(hist());
        const a = model.llm.forward({ inputsEmbeds: embeds, attentionMask: mask }).lastHiddenState;
        const b = base.forward({ inputsEmbeds: embeds, attentionMask: mask }).lastHiddenState;
        expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
        tf.dispose([embeds, a, b]);
      } finally {
        model.dispose();
        base.dispose();
      }
    });

    it('only LoRA A/B and the new heads are trainable, and they are exactly what gets gradients', async () => {
      const model = await tinyModel();
      try {
        const trainable = [...model.trainableParameters().keys()];
        const expected = [
          ...[0, 1].flatMap((i) =>
            ['gate', 'up', 'down'].flatMap((p) =>
              ['A', 'B'].map((x) => `llm.layers.${i}.mlp.${p}_proj.lora_${x}.weight`),
            ),
          ),
          ...['collaborative', 'visual', 'text'].flatMap((m) => [
            `item_tokenizer.proj.${m}.weight`,
            `item_tokenizer.proj.${m}.bias`,
            `item_tokenizer.sid.${m}.codes`,
            `item_tokenizer.sid.${m}.proj.weight`,
          ]),
          'item_tokenizer.mlp.layers.0.weight',
          'item_tokenizer.mlp.layers.0.bias',
          'item_tokenizer.mlp.layers.1.weight',
          'item_tokenizer.mlp.layers.1.bias',
          'head.target_table_t',
          'head.fusion.mlp_head.0.weight',
          'head.fusion.mlp_head.0.bias',
          'head.fusion.mlp_head.2.weight',
          'head.fusion.mlp_head.2.bias',
          'head.fusion.mlp_meta_embedding.0.weight',
          'head.fusion.mlp_meta_embedding.2.weight',
          'head.fusion.mlp_meta_embedding.2.bias',
        ];
        expect(trainable.sort()).toEqual(expected.sort());
        for (const [name, p] of model.namedParameters())
          if (/tables|embed_tokens|self_attn|norm|base_layer/.test(name))
            expect(p.trainable, name).toBe(false);
        // Without a variable list, tfjs differentiates every trainable variable in the engine: exactly ours.
        const { split } = tinyData();
        const batch = split.train.slice(0, 4);
        const { value, grads } = tf.variableGrads(() =>
          model.lossFromScores(
            model.score(batch.map((e) => e.history)),
            batch.map((e) => e.target),
          ),
        );
        const byVar = new Map([...model.trainableParameters()].map(([n, v]) => [v.name, n]));
        expect(
          Object.keys(grads)
            .map((k) => byVar.get(k))
            .sort(),
        ).toEqual(expected.sort());
        const norm = async (n: string) => {
          const v = model.trainableParameters().get(n)!;
          return Math.max(...(await grads[v.name]!.data()).map(Math.abs));
        };
        expect(await norm('llm.layers.0.mlp.up_proj.lora_B.weight')).toBeGreaterThan(0);
        expect(await norm('llm.layers.0.mlp.up_proj.lora_A.weight')).toBe(0); // B = 0 blocks A's gradient at init
        expect(await norm('item_tokenizer.sid.visual.codes')).toBeGreaterThan(0);
        expect(await norm('head.target_table_t')).toBeGreaterThan(0);
        tf.dispose([value, ...Object.values(grads)]);
        const s = model.parameterSummary();
        expect(s.groups.lora + s.groups.itemTokenizer + s.groups.head).toBe(s.trainable);
        expect(s.groups.lora).toBe(2 * (2 * 8 * (32 + 48) + 8 * (48 + 32)));
        expect(s.text).toMatch(
          /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/,
        );
      } finally {
        model.dispose();
      }
    });

    it('training steps lower the loss, leave the LLM base and the item tables untouched, and leak nothing', async () => {
      const model = await tinyModel({ lora: { dropout: 0 } });
      try {
        const { split } = tinyData();
        const batch = split.train.slice(0, 8);
        const lossFn = () =>
          model.lossFromScores(
            model.score(batch.map((e) => e.history)),
            batch.map((e) => e.target),
          );
        const frozen = new Map<string, Float32Array>();
        for (const [n, p] of model.namedParameters())
          if (!p.trainable) frozen.set(n, (await p.data()) as Float32Array);
        const trainer = new Trainer({
          optimizer: new AdamW(model.trainableParameters(), { lr: 3e-3, weightDecay: 0 }),
          clipNorm: 1,
        });
        model.train();
        const first = (await trainer.step(lossFn)).loss;
        let last = first;
        for (let i = 0; i < 11; i++)
          last = (await expectNoLeaks(() => trainer.step(lossFn), { label: 'train step' })).loss;
        expect(last).toBeLessThan(first - 0.5);
        for (const [n, p] of model.namedParameters())
          if (!p.trainable) expect(maxAbsDiff(await p.data(), frozen.get(n)!), n).toBe(0);
        const b = model.lora!.layers.get('layers.1.mlp.down_proj')!.loraB.weight;
        expect(Math.max(...(await b.data()).map(Math.abs))).toBeGreaterThan(0);
        trainer.dispose();
        (trainer as unknown as { opts: { optimizer: AdamW } }).opts.optimizer.dispose();
      } finally {
        model.eval();
        model.dispose();
      }
    });
  },
  {
    exclude: {
      webgpu: 'SwiftShader makes LLM forward/backward passes ~100x slower; the smoke suite covers webgpu',
      cpu: 'the same code path as wasm, ~10x slower; the shape suite covers cpu',
    },
  },
);

describeBackends(
  'MmeSidModel: losses and options',
  () => {
    it('BCE with sampled negatives and the CTRL-MM alignment loss give finite losses and gradients', async () => {
      const bce = await tinyModel({ loss: { kind: 'bce', negatives: 3 } });
      const ctrl = await tinyModel(variantConfig('CTRL-MM', {}, Object.keys(tinyData().tables)));
      try {
        const { split } = tinyData();
        const batch = split.train.slice(0, 3);
        const h = batch.map((e) => e.history);
        const t = batch.map((e) => e.target);
        const a = tf.variableGrads(
          () =>
            bce.lossFromScores(bce.score(h), t, [
              [1, 2, 3],
              [4, 5, 6],
              [7, 8, 9],
            ]),
          [...bce.trainableParameters().values()],
        );
        expect(Number.isFinite((await a.value.data())[0]!)).toBe(true);
        const sc = bce.score(h);
        expect(() => bce.lossFromScores(sc, t)).toThrow(/negatives/);
        sc.dispose();
        const items = batch.flatMap((e) => [...e.history, e.target]);
        const plain = tf.tidy(() => ctrl.lossFromScores(ctrl.score(h), t));
        const withAlign = tf.tidy(() => ctrl.lossFromScores(ctrl.score(h), t, undefined, items));
        const align = ctrl.alignmentLoss(items);
        expect((await withAlign.data())[0]).toBeCloseTo(
          (await plain.data())[0]! + 0.1 * (await align.data())[0]!,
          4,
        );
        // InfoNCE from its definition over the batch's distinct items, in plain JS: cosine
        // similarities / 0.1, cross-entropy with the diagonal as the target, both directions,
        // averaged over the text and visual modalities.
        const unique = [...new Set(items)];
        const projected = async (m: string) => {
          const p = tf.tidy(() =>
            ctrl.tokens.projection(m)!.forward(tf.gather(ctrl.tokens.table(m), tf.tensor1d(unique, 'int32'))),
          );
          const rows = (await p.array()) as number[][];
          p.dispose();
          return rows.map((r) => {
            const n = Math.hypot(...r);
            return r.map((v) => v / n);
          });
        };
        const ce = (logits: number[][]) =>
          logits.reduce((s, r, i) => {
            const m = Math.max(...r);
            return s + m + Math.log(r.reduce((z, v) => z + Math.exp(v - m), 0)) - r[i]!;
          }, 0) / logits.length;
        const anchor = await projected('collaborative');
        let want = 0;
        for (const m of ['visual', 'text']) {
          const other = await projected(m);
          const l = anchor.map((a) => other.map((o) => a.reduce((s, v, j) => s + v * o[j]!, 0) / 0.1));
          const lt = l.map((_, i) => l.map((r) => r[i]!));
          want += (ce(l) + ce(lt)) / 2 / 2;
        }
        expect(Math.abs((await align.data())[0]! - want)).toBeLessThan(1e-4);
        tf.dispose([a.value, ...Object.values(a.grads), plain, withAlign, align]);
      } finally {
        bce.dispose();
        ctrl.dispose();
      }
    });

    it("at the authors' temperature (1e-3) the fusion softmax is saturated: one-hot weights, no gradient; at 1 it trains", async () => {
      const { split } = tinyData();
      const b = split.train.slice(0, 8);
      const probe = async (temperature: number) => {
        const model = await tinyModel({ fusion: { temperature } });
        try {
          const wT = model.fusionWeights();
          const w = (await wT.array()) as number[][];
          wT.dispose();
          const p = model.trainableParameters().get('head.fusion.mlp_meta_embedding.2.weight')!;
          const t = model.trainableParameters().get('head.target_table_t')!;
          const g = tf.variableGrads(
            () =>
              model.lossFromScores(
                model.score(b.map((e) => e.history)),
                b.map((e) => e.target),
              ),
            [p, t],
          );
          const max = async (v: tf.Variable) => Math.max(...(await g.grads[v.name]!.data()).map(Math.abs));
          const out = {
            hard: w.filter((r) => Math.max(...r) > 0.99).length / w.length,
            fusionGrad: await max(p),
            tableGrad: await max(t),
          };
          tf.dispose([g.value, ...Object.values(g.grads)]);
          return out;
        } finally {
          model.dispose();
        }
      };
      const authors = await probe(1e-3);
      const soft = await probe(1);
      expect(authors.hard).toBe(1);
      expect(soft.hard).toBe(0);
      expect(authors.fusionGrad).toBeLessThan(1e-6 * soft.fusionGrad);
      expect(soft.tableGrad).toBeGreaterThan(0);
    });

    it('builds every variant (and each alternative reading) on the fixture and scores with it', async () => {
      const { numItems: N, tables } = tinyData();
      const all = Object.keys(tables);
      const configs = [
        ...VARIANT_NAMES.map((v) => variantConfig(v, {}, all)),
        ...VARIANT_NAMES.filter((v) => VARIANTS[v].alternative).map((v) =>
          variantConfig(v, {}, all, { reading: 'alternative' }),
        ),
      ];
      for (const c of configs) {
        const m = await tinyModel(c);
        try {
          const s = m.score([[1, 2, 3]]);
          expect(s.shape).toEqual([1, N + 1]);
          expect((await s.data()).every(Number.isFinite)).toBe(true);
          s.dispose();
        } finally {
          m.dispose();
        }
      }
    });
  },
  {
    exclude: {
      webgpu: 'SwiftShader makes every LLM forward ~100x slower; the smoke suite covers webgpu',
      cpu: 'the same code path as wasm, ~10x slower',
    },
  },
);

describeBackends(
  'MmeSidModel: webgpu/cpu smoke',
  ({ backend, tol }) => {
    it('scores a short history, finitely and the same alone as in a left-padded batch', async () => {
      const model = await tinyModel();
      try {
        const a = model.score([[4, 5]]);
        const b = model.score([
          [4, 5],
          [6, 7, 8],
        ]);
        const s = await a.array();
        const again = await b.array();
        tf.dispose([a, b]);
        expect(s[0]!.every(Number.isFinite)).toBe(true);
        expect(maxAbsDiff(s[0]!, again[0]!), backend).toBeLessThan(tol * 100);
      } finally {
        model.dispose();
      }
    });
  },
  { exclude: { wasm: 'the full suites above run on wasm' } },
);
