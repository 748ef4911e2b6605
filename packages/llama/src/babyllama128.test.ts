/**
 * babyllama128 (../shared/models/babyllama128): a llama2.c legacy checkpoint (d = 128, GQA 8/4 heads,
 * shared classifier) whose character-level tokenizer has no byte fallback. Checked against the folder's
 * golden.json (greedy decoding by an independent numpy forward pass of run.c) and against the
 * SentencePiece library's own encodings of tok105.model (__fixtures__/tok105.json, made by tok105.py).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff, sharedDir } from '@mmesid/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LlamaForCausalLM } from './causal-lm.js';
import { llama2cWeights, permuteRopeRows } from './load/llama2c.js';
import { fromPretrained, loadLlamaModel } from './load/pretrained.js';
import { Llama2cTokenizer } from './tokenizer/llama2c.js';

const s = sharedDir('models', 'babyllama128');

interface Golden {
  greedy_from_bos: { ids: number[]; text: string };
}
interface SpCase {
  text: string;
  ids: number[];
  decoded: string;
}
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/tok105.json', import.meta.url), 'utf8')) as {
  cases: SpCase[];
};
/** trainer_spec.unk_surface of tok105.model (see tok105.py). */
const TOK105_UNK_SURFACE = ' \\342\\201\\207 ';

describeBackends(
  'babyllama128 (llama2.c legacy checkpoint, no byte fallback)',
  () => {
    let lm: LlamaForCausalLM;
    let golden: Golden;
    let tok: Llama2cTokenizer;
    beforeAll(async () => {
      if (!s.path) return;
      golden = JSON.parse(readFileSync(join(s.path, 'golden.json'), 'utf8')) as Golden;
      lm = await fromPretrained(s.path, { log: false });
      tok = await Llama2cTokenizer.load(join(s.path, 'tok105.bin'));
    });
    afterAll(() => lm?.dispose());

    it.skipIf(!s.path)(
      'the folder without config.json loads as the header says, with a shared classifier',
      () => {
        const c = lm.config;
        expect([c.hidden_size, c.intermediate_size, c.num_hidden_layers]).toEqual([128, 352, 5]);
        expect([c.num_attention_heads, c.num_key_value_heads, c.vocab_size]).toEqual([8, 4, 105]);
        expect(c.max_position_embeddings).toBe(256);
        expect(lm.hasLmHead).toBe(false);
        const n = Object.values(lm.stateDict()).reduce((a, t) => a + t.size, 0);
        // The README's 940,544 floats include the RoPE tables (256 x 16), which the model does not store.
        expect(n).toBe(940_544 - 256 * 16);
      },
    );

    it.skipIf(!s.path)('greedy decoding from BOS gives golden.json’s 160 tokens and text', async () => {
      const want = golden.greedy_from_bos.ids;
      const out = await lm.generate([1], { maxNewTokens: want.length, eosTokenId: null, stopOnBos: true });
      expect(out.ids).toEqual(want);
      expect(tok.decode(out.ids)).toBe(golden.greedy_from_bos.text.replace(/^ /, ''));
    });

    it.skipIf(!s.path)(
      'without the q/k row permutation the greedy tokens are wrong (the test can fail)',
      async () => {
        const bytes = new Uint8Array(await readFile(join(s.path!, 'model5000.bin')));
        const { config } = llama2cWeights(bytes);
        const hd = config.head_dim;
        const params = lm.stateDict() as Record<string, tf.Variable>;
        // Undo the permutation in every layer: apply its inverse to the loaded (permuted) rows.
        const inverse = (w: Float32Array, heads: number) => {
          const p = permuteRopeRows(
            Float32Array.from({ length: heads * hd }, (_, i) => i),
            heads,
            hd,
            1,
          );
          const out = new Float32Array(w.length);
          const inF = w.length / (heads * hd);
          p.forEach((src, dst) => {
            out.set(w.subarray(dst * inF, (dst + 1) * inF), src * inF);
          });
          return out;
        };
        const saved: [string, tf.Tensor][] = [];
        const targets = Array.from({ length: config.num_hidden_layers }, (_, i) => [
          [`model.layers.${i}.self_attn.q_proj.weight`, config.num_attention_heads],
          [`model.layers.${i}.self_attn.k_proj.weight`, config.num_key_value_heads],
        ]).flat() as [string, number][];
        for (const [name, heads] of targets) {
          const v = params[name]!;
          saved.push([name, v.clone()]);
          const t = tf.tensor(inverse((await v.data()) as Float32Array, heads), v.shape);
          v.assign(t);
          t.dispose();
        }
        try {
          const out = await lm.generate([1], { maxNewTokens: 160, eosTokenId: null });
          expect(out.ids).not.toEqual(golden.greedy_from_bos.ids);
        } finally {
          for (const [name, t] of saved) {
            params[name]!.assign(t);
            t.dispose();
          }
        }
      },
    );

    it.skipIf(!s.path)('loadLlamaModel gives the same decoder stack as fromPretrained', async () => {
      const base = await loadLlamaModel(s.path!, { log: false });
      try {
        const ids = [golden.greedy_from_bos.ids.slice(0, 24)];
        const a = lm.forward({ inputIds: ids, returnLogits: false });
        const b = base.forward({ inputIds: ids });
        expect(maxAbsDiff(await a.lastHiddenState.data(), await b.lastHiddenState.data())).toBe(0);
        tf.dispose([a.lastHiddenState, b.lastHiddenState]);
      } finally {
        base.dispose();
      }
    });

    it.skipIf(!s.path)(
      'tok105.bin: 105 single characters, no byte fallback; encodes golden text to golden ids',
      () => {
        expect(tok.vocabSize).toBe(105);
        expect(tok.byteFallback).toBe(false);
        expect(tok.piece(3)).toBe(' ');
        expect(tok.encode(golden.greedy_from_bos.text.slice(1))).toEqual(golden.greedy_from_bos.ids);
      },
    );

    it.skipIf(!s.path)(
      'encode and decode match SentencePiece on tok105.model (unknown characters, spaces)',
      async () => {
        const spTok = Llama2cTokenizer.fromBin(
          new Uint8Array(await readFile(join(s.path!, 'tok105.bin'))),
          undefined,
          'tok105.bin',
        );
        const withSurface = new Llama2cTokenizer(spTok.pieces, { unkSurface: TOK105_UNK_SURFACE });
        for (const c of fixture.cases) {
          expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
          expect(withSurface.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
        }
        expect(tok.encode('a\u{1F600}\u{1F600}b', { bos: true, eos: true })).toEqual([1, 3, 5, 0, 23, 2]);
        expect(tok.decode([3, 5, 0, 23])).toBe('a \u2047 b');
      },
    );
  },
  { exclude: { webgpu: 'SwiftShader is ~100x slower than WASM; the wasm and cpu runs cover the numerics' } },
);
