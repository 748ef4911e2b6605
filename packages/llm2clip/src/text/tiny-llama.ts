// Test helper: a tiny random Llama and a character tokenizer, for the text encoder tests.
import { LlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { Rng } from '@mmesid/tensor';
import type { TextTokenizer } from './llama-mean-pool-text-encoder.js';

export function tinyLlama(hidden = 8, seed = 0): LlamaModel {
  const cfg = parseLlamaConfig({
    hidden_size: hidden,
    intermediate_size: 2 * hidden,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 40,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
  });
  return new LlamaModel(cfg, { rng: new Rng(seed) });
}

/** BOS = 1, then one id per lowercase letter (a = 3, ...), everything else 2. */
export const charTokenizer: TextTokenizer & { seen: string[] } = {
  seen: [],
  encode(text: string): number[] {
    this.seen.push(text);
    return [1, ...Array.from(text.toLowerCase(), (c) => (c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 94 : 2))];
  },
};
