import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/**
 * The LLM2CLIP text adapter's shape. Paper scale (LLM2CLIP-Openai-L-14-336 with the Llama-3-8B
 * LLM2Vec text model): 4096 -> 4 residual blocks of 4096 -> 8192 -> 4096 -> LayerNorm -> 1280.
 */
export const TextAdapterConfigSchema = z.object({
  /** d: width of the LLM2Vec vector (Llama hidden size; 4096 for Llama-3-8B). */
  inputDim: z.number().int().positive(),
  /** Hidden width of each block = expansionFactor * d (2 in LLM2CLIP). */
  expansionFactor: z.number().int().positive(),
  /** Number of residual blocks (4 in LLM2CLIP). */
  numBlocks: z.number().int().nonnegative(),
  /** Output width, CLIP's projection_dim (1280 for LLM2CLIP-Openai-L-14-336). */
  projectionDim: z.number().int().positive(),
  /** LayerNorm epsilon (PyTorch default 1e-5). */
  layerNormEps: z.number().positive(),
  /** Bias on the final projection (true in LLM2CLIP). */
  projectionBias: z.boolean(),
  /** L2-normalise the input vector before the first block (the MME-SID pipeline does). */
  normalizeInput: z.boolean(),
  /** L2-normalise the output (off by default: `get_text_features` returns it unnormalised). */
  normalizeOutput: z.boolean(),
});

/** Validated adapter shape (see {@link TextAdapterConfigSchema}). */
export type TextAdapterConfig = z.infer<typeof TextAdapterConfigSchema>;

/** Paper scale: 4096 -> 4 x (4096 -> 8192 -> 4096) -> LayerNorm -> 1280. */
export const TEXT_ADAPTER_DEFAULTS: TextAdapterConfig = Object.freeze({
  inputDim: 4096,
  expansionFactor: 2,
  numBlocks: 4,
  projectionDim: 1280,
  layerNormEps: 1e-5,
  projectionBias: true,
  normalizeInput: true,
  normalizeOutput: false,
});

/**
 * Validates a (partial) adapter config over {@link TEXT_ADAPTER_DEFAULTS}.
 * @throws ConfigError naming the bad field
 */
export function textAdapterConfig(partial: Partial<TextAdapterConfig> = {}): TextAdapterConfig {
  const r = TextAdapterConfigSchema.safeParse({ ...TEXT_ADAPTER_DEFAULTS, ...partial });
  if (!r.success)
    throw new ConfigError(
      `text adapter config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
