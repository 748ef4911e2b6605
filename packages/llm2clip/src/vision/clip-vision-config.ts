import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/**
 * The CLIP ViT vision tower's shape, with Hugging Face `CLIPVisionConfig` meanings (camelCase here,
 * snake_case in `config.json`; see {@link clipVisionConfigFromHf}).
 */
export const ClipVisionConfigSchema = z
  .object({
    hiddenSize: z.number().int().positive(),
    intermediateSize: z.number().int().positive(),
    numHiddenLayers: z.number().int().nonnegative(),
    numAttentionHeads: z.number().int().positive(),
    numChannels: z.number().int().positive(),
    imageSize: z.number().int().positive(),
    patchSize: z.number().int().positive(),
    /** Width of `visual_projection` (1280 for LLM2CLIP-Openai-L-14-336, 768 for OpenAI's L/14-336). */
    projectionDim: z.number().int().positive(),
    layerNormEps: z.number().positive(),
    /** CLIP uses quick_gelu, x * sigmoid(1.702 x). */
    hiddenAct: z.enum(['quick_gelu', 'gelu', 'gelu_tanh', 'relu', 'silu']),
  })
  .refine((c) => c.imageSize % c.patchSize === 0, { message: 'imageSize must be a multiple of patchSize' })
  .refine((c) => c.hiddenSize % c.numAttentionHeads === 0, {
    message: 'hiddenSize must be a multiple of numAttentionHeads',
  });

/** Validated vision tower shape (see {@link ClipVisionConfigSchema}). */
export type ClipVisionConfig = z.infer<typeof ClipVisionConfigSchema>;

/** ViT-L/14 at 336 px with LLM2CLIP's 1280-d projection (LLM2CLIP-Openai-L-14-336). */
export const CLIP_VISION_L14_336_DEFAULTS: ClipVisionConfig = Object.freeze({
  hiddenSize: 1024,
  intermediateSize: 4096,
  numHiddenLayers: 24,
  numAttentionHeads: 16,
  numChannels: 3,
  imageSize: 336,
  patchSize: 14,
  projectionDim: 1280,
  layerNormEps: 1e-5,
  hiddenAct: 'quick_gelu' as const,
});

/**
 * Validates a (partial) config over {@link CLIP_VISION_L14_336_DEFAULTS}.
 * @throws ConfigError naming the bad field
 */
export function clipVisionConfig(partial: Partial<ClipVisionConfig> = {}): ClipVisionConfig {
  const r = ClipVisionConfigSchema.safeParse({ ...CLIP_VISION_L14_336_DEFAULTS, ...partial });
  if (!r.success)
    throw new ConfigError(
      `CLIP vision config: ${r.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

const HF_KEYS: Record<string, keyof ClipVisionConfig> = {
  hidden_size: 'hiddenSize',
  intermediate_size: 'intermediateSize',
  num_hidden_layers: 'numHiddenLayers',
  num_attention_heads: 'numAttentionHeads',
  num_channels: 'numChannels',
  image_size: 'imageSize',
  patch_size: 'patchSize',
  projection_dim: 'projectionDim',
  layer_norm_eps: 'layerNormEps',
  hidden_act: 'hiddenAct',
};

/**
 * Reads a Hugging Face `config.json`: a `CLIPConfig` / LLM2CLIP config (`vision_config` plus a
 * top-level `projection_dim`) or a bare `CLIPVisionConfig`. Fields it does not give keep the L/14-336
 * defaults; unknown fields are ignored (HF configs carry many that do not change the math).
 *
 * @throws ConfigError when the result does not validate
 * @example
 * const cfg = clipVisionConfigFromHf(JSON.parse(await readFile('LLM2CLIP-Openai-L-14-336/config.json', 'utf8')));
 */
export function clipVisionConfigFromHf(json: Record<string, unknown>): ClipVisionConfig {
  const vision = (json.vision_config as Record<string, unknown> | undefined) ?? json;
  const out: Partial<Record<keyof ClipVisionConfig, unknown>> = {};
  for (const [hf, ours] of Object.entries(HF_KEYS)) if (vision[hf] !== undefined) out[ours] = vision[hf];
  if (json.projection_dim !== undefined) out.projectionDim = json.projection_dim;
  return clipVisionConfig(out as Partial<ClipVisionConfig>);
}
