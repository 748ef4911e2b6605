import { Linear, Module, Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LlamaForCausalLM } from './causal-lm.js';
import { parseLlamaConfig } from './config.js';
import { KVCache } from './kv-cache.js';
import { llamaParameterShapes } from './load/tensor-names.js';

// A tiny random Llama: GQA 4/2, head_dim 4, untied head.
const cfg = parseLlamaConfig({
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 32,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
});

/** Multiplies its inner module's output by a constant: a stand-in for a LoRA wrapper. */
class Scaled extends Module {
  calls = 0;
  constructor(
    readonly inner: Linear,
    readonly k: number,
  ) {
    super();
    this.setModule('base', inner);
  }
  forward(x: tf.Tensor): tf.Tensor {
    this.calls++;
    return tf.tidy(() => tf.mul(this.inner.forward(x), this.k));
  }
}

describeBackends(
  'LlamaForCausalLM (tiny random model)',
  ({ tol }) => {
    let lm: LlamaForCausalLM;
    const ids = [[3, 7, 1, 30, 12, 5]];
    beforeAll(() => {
      lm = new LlamaForCausalLM(cfg, { rng: new Rng(11) });
    });
    afterAll(() => lm.dispose());

    it('has exactly the Hugging Face parameter names and shapes', () => {
      const own = Object.fromEntries(Object.entries(lm.stateDict()).map(([k, v]) => [k, v.shape]));
      expect(own).toEqual(Object.fromEntries(llamaParameterShapes(cfg, { lmHead: true })));
      expect(lm.getModule('model.layers.1.mlp.gate_proj')).toBeInstanceOf(Linear);
      expect(lm.getModule('model.layers.0.self_attn.k_proj')).toBeInstanceOf(Linear);
    });

    it('inputsEmbeds from embedTokens gives the same result as inputIds; hidden states are L + 1', async () => {
      const a = lm.forward({ inputIds: ids, outputHiddenStates: true });
      const emb = lm.embedTokens(ids);
      const b = lm.forward({ inputsEmbeds: emb });
      expect(a.logits!.shape).toEqual([1, 6, 32]);
      expect(maxAbsDiff(await a.logits!.data(), await b.logits!.data())).toBe(0);
      expect(a.hiddenStates).toHaveLength(cfg.num_hidden_layers + 1);
      expect(maxAbsDiff(await a.hiddenStates![0]!.data(), await emb.data())).toBe(0);
      expect(maxAbsDiff(await a.hiddenStates![2]!.data(), await a.lastHiddenState.data())).toBe(0);
      tf.dispose([a.logits!, a.lastHiddenState, ...a.hiddenStates!, emb, b.logits!, b.lastHiddenState]);
    });

    it('rejects token ids outside the vocabulary and malformed inputs with clear errors', () => {
      expect(() => lm.forward({ inputIds: [[1, 32]] })).toThrow(
        /token id 32 is outside the vocabulary \[0, 32\)/,
      );
      expect(() => lm.forward({ inputIds: [[1, 2], [3]] })).toThrow(/row 1 has length 1/);
      expect(() => lm.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] })).toThrow(
        /attentionMask must be \[1, 2\]/,
      );
      expect(() => lm.forward({})).toThrow(/exactly one of inputIds and inputsEmbeds/);
    });

    it('replaceModule(path, wrapper) changes what the forward pass calls, and restoring it restores the output', async () => {
      const path = 'model.layers.0.mlp.down_proj';
      const base = lm.getModule(path) as Linear;
      const before = lm.forward({ inputIds: ids, logitsFor: 'last' });
      const wrapper = new Scaled(base, 0);
      lm.replaceModule(path, wrapper);
      const wrapped = lm.forward({ inputIds: ids, logitsFor: 'last' });
      expect(wrapper.calls).toBe(1);
      expect(maxAbsDiff(await before.logits!.data(), await wrapped.logits!.data())).toBeGreaterThan(1e-4);
      lm.replaceModule(path, base);
      const after = lm.forward({ inputIds: ids, logitsFor: 'last' });
      expect(maxAbsDiff(await before.logits!.data(), await after.logits!.data())).toBe(0);
      tf.dispose([
        before.logits!,
        before.lastHiddenState,
        wrapped.logits!,
        wrapped.lastHiddenState,
        after.logits!,
        after.lastHiddenState,
      ]);
    });

    it('is differentiable: every parameter gets a gradient from a next-token loss', async () => {
      const vars = [...lm.trainableParameters().values()];
      // Like @mmesid/tensor's Trainer, run forward + backward inside tidy (variableGrads keeps the
      // forward pass's intermediates alive otherwise).
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => {
          const out = lm.forward({ inputIds: [ids[0]!.slice(0, -1)] });
          const labels = tf.oneHot(tf.tensor1d(ids[0]!.slice(1), 'int32'), cfg.vocab_size);
          const loss = tf.losses.softmaxCrossEntropy(labels, tf.reshape(out.logits!, [-1, cfg.vocab_size]));
          return loss as tf.Scalar;
        }, vars),
      );
      expect(Object.keys(grads)).toHaveLength(vars.length);
      for (const g of Object.values(grads)) {
        const m = tf.tidy(() => tf.max(tf.abs(g)));
        expect((await m.data())[0]).toBeGreaterThan(0);
        m.dispose();
      }
      tf.dispose([value, ...Object.values(grads)]);
    }, 120_000);

    it('incremental decoding with the cache equals the full forward (causal)', async () => {
      const full = lm.forward({ inputIds: ids });
      const cache = new KVCache(cfg.num_hidden_layers);
      const parts: tf.Tensor[] = [];
      for (const chunk of [[3, 7, 1], [30], [12, 5]]) {
        const o = lm.forward({ inputIds: [chunk], cache });
        parts.push(o.logits!);
        o.lastHiddenState.dispose();
      }
      expect(cache.length).toBe(6);
      const inc = tf.concat(parts, 1);
      expect(maxAbsDiff(await full.logits!.data(), await inc.data())).toBeLessThan(tol * 10);
      cache.dispose();
      tf.dispose([full.logits!, full.lastHiddenState, inc, ...parts]);
    });

    it('bidirectional attention lets early positions see later tokens; causal does not', async () => {
      const a = lm.forward({ inputIds: [[3, 7, 1, 30]], returnLogits: false });
      const b = lm.forward({ inputIds: [[3, 7, 1, 9]], returnLogits: false });
      const c = lm.forward({ inputIds: [[3, 7, 1, 30]], returnLogits: false, causal: false });
      const d = lm.forward({ inputIds: [[3, 7, 1, 9]], returnLogits: false, causal: false });
      const first = (t: tf.Tensor) => tf.tidy(() => tf.slice(t, [0, 0, 0], [1, 1, -1]));
      const [fa, fb, fc, fd] = [
        first(a.lastHiddenState),
        first(b.lastHiddenState),
        first(c.lastHiddenState),
        first(d.lastHiddenState),
      ];
      expect(maxAbsDiff(await fa.data(), await fb.data())).toBe(0);
      expect(maxAbsDiff(await fc.data(), await fd.data())).toBeGreaterThan(1e-4);
      tf.dispose([
        a.lastHiddenState,
        b.lastHiddenState,
        c.lastHiddenState,
        d.lastHiddenState,
        fa,
        fb,
        fc,
        fd,
      ]);
    });

    it('generate is seeded: same seed same tokens, and greedy matches argmax of the full forward', async () => {
      const s1 = await lm.generate([3, 7], {
        maxNewTokens: 5,
        temperature: 1,
        topP: 0.9,
        seed: 5,
        eosTokenId: null,
      });
      const s2 = await lm.generate([3, 7], {
        maxNewTokens: 5,
        temperature: 1,
        topP: 0.9,
        seed: 5,
        eosTokenId: null,
      });
      expect(s1.ids).toEqual(s2.ids);
      expect(s1.stopReason).toBe('length');
      const g = await lm.generate([3, 7], { maxNewTokens: 4, eosTokenId: null });
      const out = lm.forward({ inputIds: [g.sequence.slice(0, -1)] });
      const argT = tf.argMax(out.logits!, -1);
      const arg = (await argT.data()) as Int32Array;
      expect(Array.from(arg).slice(1)).toEqual(g.ids);
      tf.dispose([out.logits!, out.lastHiddenState, argT]);
      const stopId = g.ids[1]!;
      const stop = await lm.generate([3, 7], { maxNewTokens: 4, eosTokenId: stopId });
      expect(stop.ids).toEqual(g.ids.slice(0, g.ids.indexOf(stopId) + 1));
      expect(stop.stopReason).toBe('eos');
    });
  },
  {
    exclude: {
      webgpu:
        'SwiftShader is ~100x slower than WASM (this suite took ~2 min there); golden.test.ts runs WebGPU',
    },
  },
);
