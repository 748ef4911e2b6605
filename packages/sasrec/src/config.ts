import { parseOptions } from '@mmesid/core';
import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/**
 * The architecture of SASRec (Kang & McAuley, ICDM 2018, "Self-Attentive Sequential
 * Recommendation"), Section III. Symbols of the paper in comments.
 */
export const SasrecConfigSchema = z.strictObject({
  /** Largest item id (|I|); the item table has `numItems + 1` rows, row 0 is padding. */
  numItems: z.number().int().positive(),
  /** d, the latent dimension (MME-SID uses 64-d collaborative embeddings). */
  hiddenUnits: z.number().int().positive().default(64),
  /** b, the number of self-attention blocks. */
  numBlocks: z.number().int().positive().default(2),
  /** Attention heads (the paper uses one; d must be divisible by it). */
  numHeads: z.number().int().positive().default(1),
  /** n, the maximum sequence length: positions kept (the most recent n items) and learned positional rows. */
  maxLen: z.number().int().positive().default(50),
  /**
   * Dropout on the embeddings, the attention weights and the feed-forward layers. The paper uses
   * 0.2 on the dense MovieLens-1M and 0.5 on the sparse Amazon sets; Beauty (mean 8.9 items per user)
   * is sparse, hence 0.5 here.
   */
  dropout: z.number().min(0).lt(1).default(0.5),
  /** LayerNorm epsilon (the reference code uses 1e-8). */
  layerNormEps: z.number().positive().default(1e-8),
});

/** A SASRec architecture as accepted (only `numItems` is required). */
export type SasrecConfigInput = z.input<typeof SasrecConfigSchema>;
/** A SASRec architecture with every default filled in. */
export type SasrecConfig = z.output<typeof SasrecConfigSchema>;

/** Defaults of {@link SasrecConfigSchema} apart from `numItems`, which has none. */
export const SASREC_DEFAULTS: Omit<SasrecConfig, 'numItems'> = {
  hiddenUnits: 64,
  numBlocks: 2,
  numHeads: 1,
  maxLen: 50,
  dropout: 0.5,
  layerNormEps: 1e-8,
};

/**
 * Validates a SASRec architecture: fills in defaults and checks that d is divisible by the heads.
 * @throws ConfigError naming the field at fault.
 * @example
 * const cfg = sasrecConfig({ numItems: 12086 }); // d 64, 2 blocks, 1 head, n 50, dropout 0.5
 */
export function sasrecConfig(input: SasrecConfigInput): SasrecConfig {
  const cfg = parseOptions(SasrecConfigSchema, input, 'SASRec config');
  if (cfg.hiddenUnits % cfg.numHeads !== 0)
    throw new ConfigError(
      `SASRec config: hiddenUnits ${cfg.hiddenUnits} is not divisible by numHeads ${cfg.numHeads}`,
    );
  return cfg;
}
