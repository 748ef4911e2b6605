/**
 * The small models the integration tests share: one tiny Llama configuration (16 wide, one layer,
 * GQA with 2 query heads over 1 key/value head) and one tiny two-modality MM-RQ-VAE.
 */
import { type LlamaConfig, LlamaModel, parseLlamaConfig } from '@mmesid/llama';
import { MMRQVAE } from '@mmesid/rqvae';
import { Rng } from '@mmesid/tensor';

/** The tiny Llama's config.json, as the file holds it (Hugging Face field names). */
export function tinyLlamaConfigJson(): Record<string, number> {
  return {
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: 32,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-5,
  };
}

/** The tiny Llama's config.json, parsed. */
export function tinyLlamaConfig(): LlamaConfig {
  return parseLlamaConfig(tinyLlamaConfigJson());
}

/** A tiny Llama with seeded random weights. The caller disposes it (or hands it to a model that does). */
export function tinyLlama(seed: string): LlamaModel {
  return new LlamaModel(tinyLlamaConfig(), { rng: new Rng(seed) });
}

/** A two-level, four-code MM-RQ-VAE over a collaborative and a text modality. The caller disposes it. */
export function tinyMmRqvae(collaborativeDim: number, textDim: number): MMRQVAE {
  return new MMRQVAE({
    modalities: [
      { name: 'collaborative', inputDim: collaborativeDim },
      { name: 'text', inputDim: textDim },
    ],
    eDim: 4,
    hiddenLayers: [8],
    levels: 2,
    codebookSize: 4,
    kmeansIters: 5,
    sinkhornEpsilons: [0, 0.003],
    sinkhornIters: 5,
    seed: 3,
  });
}
