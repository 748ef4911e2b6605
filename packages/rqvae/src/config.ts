import { parseOptions } from '@mmesid/core';
import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/** A modality name: used as a submodule name and a safetensors key prefix, so no dots or slashes. */
const ModalityName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]*$/,
    'a modality name is letters, digits, "_" or "-", starting with a letter or "_"',
  );

/** One input modality of the tokenizer: its name and the width of its item embeddings. */
export const ModalitySchema = z.strictObject({
  name: ModalityName,
  /** Width of this modality's item embeddings (SASRec 64, LLM2CLIP 1280, ...). */
  inputDim: z.number().int().positive(),
});
export type Modality = z.infer<typeof ModalitySchema>;

/**
 * Hyper-parameters of the MM-RQ-VAE (MME-SID Sec. 3.2). Every field has a default; the comments
 * give the value in the authors' released code (`MM-RQ-VAE/main_new_MM.py`, `train_tokenizer_MM.sh`)
 * and, where it differs, TIGER's (Rajput et al. 2023).
 *
 * @example
 * const config = parseRqvaeConfig({ modalities: [{ name: 'collaborative', inputDim: 64 }], eDim: 64 });
 */
export const RqvaeConfigSchema = z.strictObject({
  /** Modalities, any subset of collaborative / textual / visual with any widths. The first is the alignment anchor. */
  modalities: z.array(ModalitySchema).min(1),
  /** Latent (code) width e_dim. Authors: 4096 (the Llama hidden size), so the codes can initialise LLM-side SID embeddings. */
  eDim: z.number().int().positive().default(64),
  /** Hidden widths of each encoder MLP (the decoder mirrors them). Authors: [4096, 4096, 4096]; their script's default [2048, 1024, 512, 256, 128, 64]. */
  hiddenLayers: z.array(z.number().int().positive()).default([512, 256, 128]),
  /**
   * Weight init of the MLPs: 'xavier_normal' with zero biases is what the authors' `MLPLayers`
   * (from LC-Rec) does; 'kaiming_normal' (He, zero biases) keeps the activations' scale through
   * ReLU layers; 'kaiming_uniform' is PyTorch's `nn.Linear` default.
   */
  init: z.enum(['xavier_normal', 'kaiming_normal', 'kaiming_uniform']).default('xavier_normal'),
  /** Activation between MLP layers (none after the last), as the authors' MLPLayers. */
  activation: z.enum(['relu', 'gelu', 'silu', 'tanh']).default('relu'),
  /** Dropout before every linear layer of the MLPs while training. Authors: 0. */
  dropout: z.number().min(0).lt(1).default(0),
  /** Number of residual levels L. Paper: 4. */
  levels: z.number().int().positive().default(4),
  /** Codes per level K. Paper: 256 (300 on Sports). */
  codebookSize: z.number().int().min(2).default(256),
  /** Reconstruction loss: 'mmd' (the paper's contribution, Eq. 4) or 'mse' (TIGER). */
  reconstruction: z.enum(['mmd', 'mse']).default('mmd'),
  /** Weight of the reconstruction loss. Authors: 3 (`--recon 3`). TIGER: 1. */
  reconstructionWeight: z.number().nonnegative().default(3),
  /**
   * Gaussian-kernel bandwidth factor of every MMD term: sigma^2 = alpha * mean squared pairwise
   * distance of the pooled batch (tllib's `GaussianKernel(alpha=2**-1)`, which the authors use).
   */
  mmdAlpha: z.number().positive().default(0.5),
  /**
   * MMD estimator: 'unbiased' has the gradient of tllib's MK-MMD, which the authors train with
   * (tllib adds a constant 2/(B-1) that changes no gradient); 'biased' is exactly 0 for identical batches.
   */
  mmdEstimator: z.enum(['unbiased', 'biased']).default('unbiased'),
  /** Weight of the quantisation loss (sum over modalities). Authors: 1 (`quant_loss_weight`). */
  quantizationWeight: z.number().nonnegative().default(1),
  /**
   * beta of Eq. 5, the commitment term ||r - sg(e)||^2. Authors' code: 0.01 (it passes the alignment
   * weight as `mu`). TIGER: 0.25.
   */
  commitmentWeight: z.number().nonnegative().default(0.01),
  /** How per-level losses combine: 'mean' as the authors' code, 'sum' as Eq. 5 and TIGER write it. */
  levelLossReduction: z.enum(['mean', 'sum']).default('mean'),
  /**
   * true (the authors' code, the default): levels after the first see a detached residual, so only
   * the first level's commitment term reaches the encoder. false (Eq. 5 literally):
   * r_{l+1} = r_l - e_l carries gradients, so every level's commitment term reaches the encoder.
   */
  detachResidual: z.boolean().default(true),
  /**
   * Alignment of each other modality's quantised embedding with the anchor's (the first modality):
   * 'infonce' (the paper's Eq. 6: cosine similarity, temperature, in-batch negatives, symmetric),
   * 'mmd' (what the released code at commit f5b0689 trains), or 'none'.
   */
  alignment: z.enum(['infonce', 'mmd', 'none']).default('infonce'),
  /** Weight of the alignment loss. Authors: 0.01 (`--align`). */
  alignmentWeight: z.number().nonnegative().default(0.01),
  /** InfoNCE temperature. The `info_nce` package the authors import defaults to 0.1. */
  temperature: z.number().positive().default(0.1),
  /** Initialise every level's codebook by k-means++ then Lloyd k-means on the residuals of all items. Authors: true. */
  kmeansInit: z.boolean().default(true),
  /** Lloyd iterations of the initialisation. Authors: 100 (`--kmeans_iters`). */
  kmeansIters: z.number().int().positive().default(100),
  /**
   * Sinkhorn-Knopp epsilon per level while training; 0 turns it off on that level (argmin instead).
   * Authors: [0, 0, 0, 0.003]. An empty list means no Sinkhorn anywhere.
   */
  sinkhornEpsilons: z.array(z.number().nonnegative()).default([0, 0, 0, 0.003]),
  /** Sinkhorn iterations. Authors: 50 (`--sk_iters`). */
  sinkhornIters: z.number().int().positive().default(50),
  /** Seed of the weight init and the k-means initialisation. Authors: 42. */
  seed: z.number().int().default(42),
});

/** A validated MM-RQ-VAE config, defaults filled in. */
export type RqvaeConfig = z.output<typeof RqvaeConfigSchema>;
/** What callers pass: only `modalities` is required. */
export type RqvaeConfigInput = z.input<typeof RqvaeConfigSchema>;

/** Defaults of every optional field of {@link RqvaeConfigSchema}. */
export const RQVAE_DEFAULTS: Omit<RqvaeConfig, 'modalities'> = RqvaeConfigSchema.parse({
  modalities: [{ name: 'collaborative', inputDim: 1 }],
});

/**
 * The authors' released hyper-parameters (MME-SID `MM-RQ-VAE/train_tokenizer_MM.sh` and
 * `main_new_MM.py`), for a paper-scale run: `parseRqvaeConfig({ ...AUTHORS_RQVAE, modalities })`.
 * Training values are in `AUTHORS_TRAINING`.
 */
export const AUTHORS_RQVAE = {
  eDim: 4096,
  hiddenLayers: [4096, 4096, 4096],
  levels: 4,
  codebookSize: 256,
  reconstruction: 'mmd',
  reconstructionWeight: 3,
  mmdAlpha: 0.5,
  mmdEstimator: 'unbiased',
  quantizationWeight: 1,
  commitmentWeight: 0.01,
  levelLossReduction: 'mean',
  detachResidual: true,
  alignment: 'mmd',
  alignmentWeight: 0.01,
  kmeansInit: true,
  kmeansIters: 100,
  sinkhornEpsilons: [0, 0, 0, 0.003],
  sinkhornIters: 50,
  seed: 42,
} as const satisfies Partial<RqvaeConfigInput>;

/** Validates an MM-RQ-VAE config, fills defaults, and checks fields that depend on each other. */
export function parseRqvaeConfig(input: RqvaeConfigInput): RqvaeConfig {
  const cfg = parseOptions(RqvaeConfigSchema, input, 'MM-RQ-VAE config');
  const names = cfg.modalities.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`MM-RQ-VAE config: modality "${dup}" is listed twice`);
  if (cfg.sinkhornEpsilons.length !== 0 && cfg.sinkhornEpsilons.length !== cfg.levels)
    throw new ConfigError(
      `MM-RQ-VAE config: sinkhornEpsilons has ${cfg.sinkhornEpsilons.length} entries, expected one per level (${cfg.levels}) or none`,
    );
  return cfg;
}

/** RQ-KMeans (residual k-means on the raw embeddings, no encoder or decoder), as GRID and OneRec offer. */
export const RqKMeansConfigSchema = z.strictObject({
  modalities: z.array(ModalitySchema).min(1),
  levels: z.number().int().positive().default(4),
  codebookSize: z.number().int().min(2).default(256),
  /** Lloyd iterations per level (after k-means++ seeding). */
  kmeansIters: z.number().int().positive().default(100),
  seed: z.number().int().default(42),
});
export type RqKMeansConfig = z.output<typeof RqKMeansConfigSchema>;
export type RqKMeansConfigInput = z.input<typeof RqKMeansConfigSchema>;

/** Validates an RQ-KMeans config and fills defaults. */
export function parseRqKMeansConfig(input: RqKMeansConfigInput): RqKMeansConfig {
  const cfg = parseOptions(RqKMeansConfigSchema, input, 'RQ-KMeans config');
  const names = cfg.modalities.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`RQ-KMeans config: modality "${dup}" is listed twice`);
  return cfg;
}
