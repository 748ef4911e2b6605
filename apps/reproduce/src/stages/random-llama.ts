import { type LlamaConfig, parseLlamaConfig } from '@mmesid/llama';

/**
 * The seeded random tiny Llama that stands in for the LLM on machines without ../shared (the shape
 * of stories260k: d 64, 5 layers, 8 heads, 4 KV heads), so every stage still runs end to end and
 * the report says the LLM is random. Fine-tuning and the generative baselines both use it.
 */
export function randomTinyLlamaConfig(): LlamaConfig {
  return parseLlamaConfig({
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 5,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    vocab_size: 512,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  });
}

/** The random tiny Llama's fixed prompt ids: a prefix and a suffix around the history. */
export const RANDOM_TINY_PROMPT = { prefix: [1, 259, 260, 261], suffix: [262, 263] } as const;
