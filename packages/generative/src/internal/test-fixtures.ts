import { LlamaForCausalLM, parseLlamaConfig } from '@mmesid/llama';
import { Rng } from '@mmesid/tensor';
import type { SidSegmentCodes } from '../sid-vocabulary.js';

/** A tiny random Llama for tests: GQA 4/2, untied head, 32 text tokens. */
export function tinyLlama(seed = 3, lmHead = true): LlamaForCausalLM {
  const cfg = parseLlamaConfig({
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 32,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: !lmHead,
  });
  return new LlamaForCausalLM(cfg, { rng: new Rng(seed) });
}

/** Seeded codes (numItems + 1) x levels with codebooks of width `dim`; collisions are likely. */
export function randomCodes(
  numItems: number,
  levels: number,
  K: number,
  dim: number,
  seed: string,
): SidSegmentCodes {
  const rng = new Rng(seed);
  const ids = new Int32Array((numItems + 1) * levels);
  for (let i = levels; i < ids.length; i++) ids[i] = rng.int(K);
  const codebooks = rng.fillNormal(new Float32Array(levels * K * dim), 0, 0.5);
  return { ids, levels, codebookSize: K, codebooks, dim };
}
