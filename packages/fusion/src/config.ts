import { parseOptions } from '@mmesid/core';
import { ConfigError } from '@mmesid/tensor';
import { z } from 'zod';

/** A modality name: a key of the item tables and of the MM-RQ-VAE export (no dots: it is part of parameter names). */
const ModalityName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]*$/,
    'a modality name is letters, digits, "_" or "-", starting with a letter or "_"',
  );

/**
 * The modalities in the authors' concatenation order (`model.py`: ID, picture, text), which is
 * also the default order of the fusion terms after the target table.
 */
export const AUTHORS_MODALITY_ORDER = Object.freeze(['collaborative', 'visual', 'text'] as const);

/**
 * How one item becomes one LLM input token (MME-SID fine-tuning stage; the authors' `model.py`, `predict`).
 *
 * Per modality m the token builder has up to two parts: the original embedding e_m (frozen) either
 * projected to the token size d by a trainable Linear (`'projected'`, the paper) or passed as is
 * (`'raw'`, for the Concat baselines), and the sum of the item's L semantic-ID embeddings (`sid`).
 * The parts of all modalities are concatenated and combined into one d-vector.
 */
export const ItemTokenConfigSchema = z.strictObject({
  /** The original-embedding part: `'projected'` (Linear d_m -> d), `'raw'` (e_m itself) or `'none'`. */
  embeddings: z.enum(['projected', 'raw', 'none']).default('projected'),
  /** Add the summed semantic-ID embeddings of each modality as a part. */
  sid: z.boolean().default(true),
  /**
   * A new, randomly initialised, trainable item-ID table per modality as a part (the paper's E'_m:
   * ME's second table, SE-random's only one, MME-random's stand-in for the SID embeddings). `'none'`;
   * `'projected'`: a table [N + 1, idDim] through its own Linear(idDim -> d) (ME, SE-random);
   * `'direct'`: a table [N + 1, d] used as is (MME-random: the same width as the SID part it replaces).
   * Initialised N(0, 1), PyTorch's `nn.Embedding` default.
   */
  idTable: z.enum(['none', 'projected', 'direct']).default('none'),
  /** Width of a `'projected'` ID table; default the width of the modality's pre-trained table. */
  idDim: z.number().int().positive().optional(),
  /**
   * How the concatenated parts become one token: `'mlp'` is the authors' `Linear(P -> M d)`, ReLU,
   * `Linear(M d -> d)`, then GELU (6d -> 3d -> d for three modalities with SIDs); `'linear'` is one
   * Linear(P -> d); `'sum'` adds parts that are already d wide; `'tokens'` feeds every part as its
   * own LLM token (M parts -> M tokens per item, in part order; the "three tokens per item" reading
   * of the Concat baseline).
   */
  combine: z.enum(['mlp', 'linear', 'sum', 'tokens']).default('mlp'),
});

/** Where the semantic IDs and their embeddings come from. */
export const SidConfigSchema = z.strictObject({
  /** `'export'`: the MM-RQ-VAE's IDs; `'random'`: IDs drawn uniformly per item and level (seeded), carrying no semantics. */
  source: z.enum(['export', 'random']).default('export'),
  /**
   * `'codebook'` (the paper): the level-l table starts as the trained codebook l; `'random'`: N(0, s^2)
   * with s the standard deviation of the export's codebook values (1 without an export), so only the
   * structure differs from the codebook init, not the scale.
   */
  init: z.enum(['codebook', 'random']).default('codebook'),
  /**
   * Only used when the code width eDim differs from the LLM width d. `'learned'` (default): the tables
   * keep width eDim (exactly the codebooks at init) and a trainable Linear(eDim -> d, no bias) maps the
   * summed embedding; `'fixed'`: the codebooks are multiplied once by a seeded Gaussian matrix with
   * N(0, 1/d) entries (which keeps distances in expectation) and the d-wide tables are trained.
   * The authors use eDim = d = 4096 and need neither.
   */
  projection: z.enum(['learned', 'fixed']).default('learned'),
  /** L for random IDs without an export (with an export, its L is used). Paper: 4. */
  levels: z.number().int().positive().default(4),
  /** K for random IDs without an export. Paper: 256. */
  codebookSize: z.number().int().min(2).default(256),
  /** Code width for random tables without an export (default: the LLM width d). */
  dim: z.number().int().positive().optional(),
});

/** The frequency-aware fusion module (MME-SID fine-tuning stage; the authors' `mlp_head` and `mlp_meta_embedding`). */
export const FusionHeadConfigSchema = z.strictObject({
  /**
   * Softmax temperature over the 1 + M terms. The authors' run script (`MME-SID.py`) passes 1e-3
   * (`finetune.py`'s default is 1e-4): the weights are then nearly one-hot per item.
   */
  temperature: z.number().positive().default(1e-3),
  /** Hidden width of the first MLP (1 -> 64 -> 10 in the authors' code). */
  hidden: z.number().int().positive().default(64),
  /** Width of the meta-embedding between the two MLPs (10). */
  metaDim: z.number().int().positive().default(10),
  /** Hidden width of the second MLP (10 -> 64 -> 1 + M, first layer without bias). */
  metaHidden: z.number().int().positive().default(64),
});

/** The training objective. */
export const LossConfigSchema = z.strictObject({
  /**
   * `'ce'` (default): softmax cross-entropy over all N + 1 scores, what the authors' `model.py`
   * trains. `'bce'`: binary cross-entropy of the target against sampled negatives, what the paper's
   * text describes.
   */
  kind: z.enum(['ce', 'bce']).default('ce'),
  /** Negatives per example for `'bce'`, uniform over items outside the history and the target. */
  negatives: z.number().int().positive().default(1),
});

/**
 * An auxiliary InfoNCE loss aligning each other modality's projected embedding with the projected
 * collaborative one over the items of a batch (cosine similarity / temperature, symmetric). Used by
 * the CTRL-MM baseline; weight 0 turns it off.
 */
export const AlignmentConfigSchema = z.strictObject({
  weight: z.number().nonnegative().default(0),
  temperature: z.number().positive().default(0.1),
});

/** LoRA on the LLM (the authors' `MME-SID.py`: r 8, alpha 16, dropout 0.05 on gate/up/down projections). */
export const FusionLoraConfigSchema = z.strictObject({
  r: z.number().int().positive().default(8),
  alpha: z.number().positive().default(16),
  dropout: z.number().min(0).lt(1).default(0.05),
  targetModules: z.array(z.string().min(1)).min(1).default(['gate_proj', 'up_proj', 'down_proj']),
});

/**
 * Configuration of an MME-SID model (and of every baseline, which are settings of the same parts;
 * see `VARIANTS`). Every field has a default: the defaults are MME-SID as the authors' code runs it.
 *
 * @example
 * const cfg = parseFusionConfig({ modalities: ['collaborative', 'text'], head: 'target' });
 */
export const FusionConfigSchema = z.strictObject({
  /** Modalities used, in concatenation order; each must have an item table (and SIDs when `itemToken.sid`). */
  modalities: z
    .array(ModalityName)
    .min(1)
    .default([...AUTHORS_MODALITY_ORDER]),
  itemToken: ItemTokenConfigSchema.default(ItemTokenConfigSchema.parse({})),
  sid: SidConfigSchema.default(SidConfigSchema.parse({})),
  /**
   * How the user representation u scores the items: `'fusion'` (the paper): per-item softmax weights
   * from the frequency-aware module over u.T_i and u.proj_m(e_m,i); `'target'`: u.T_i only (a plain
   * linear prediction head); `'equal'`: the 1 + M terms averaged with equal weights.
   */
  head: z.enum(['fusion', 'target', 'equal']).default('fusion'),
  fusion: FusionHeadConfigSchema.default(FusionHeadConfigSchema.parse({})),
  loss: LossConfigSchema.default(LossConfigSchema.parse({})),
  alignment: AlignmentConfigSchema.default(AlignmentConfigSchema.parse({})),
  lora: FusionLoraConfigSchema.default(FusionLoraConfigSchema.parse({})),
  /**
   * Put the item tokens at the end of the prompt (no response header after them). Required by the
   * `'efficient'` training mode, where the hidden state at each item is a prefix representation.
   */
  itemsAtEnd: z.boolean().default(false),
  /** Seed of every random init (heads, LoRA A, dropout masks, random SIDs). */
  seed: z.number().int().default(0),
});

/** A validated config with defaults filled in. */
export type FusionConfig = z.output<typeof FusionConfigSchema>;
/** What callers pass: every field optional. */
export type FusionConfigInput = z.input<typeof FusionConfigSchema>;

/**
 * The modalities whose pre-trained item table the model reads (and keeps, frozen): every modality
 * unless the item tokens use no original embedding (`itemToken.embeddings 'none'`, SE-random), in
 * which case none: such a model holds no pre-trained table at all.
 */
export function tableModalities(cfg: FusionConfig): readonly string[] {
  return cfg.itemToken.embeddings === 'none' ? [] : cfg.modalities;
}

/** The defaults: MME-SID as in the authors' code (three modalities, SIDs from codebooks, fusion head, CE). */
export const FUSION_DEFAULTS: FusionConfig = FusionConfigSchema.parse({});

/**
 * Validates a config, fills defaults and checks the combinations that cannot work.
 *
 * @throws ConfigError naming every bad field
 */
export function parseFusionConfig(input: FusionConfigInput = {}): FusionConfig {
  const cfg = parseOptions(FusionConfigSchema, input, 'fusion config');
  const dup = cfg.modalities.find((m, i) => cfg.modalities.indexOf(m) !== i);
  if (dup) throw new ConfigError(`fusion config: modality "${dup}" is listed twice`);
  const t = cfg.itemToken;
  if (t.embeddings === 'none' && !t.sid && t.idTable === 'none')
    throw new ConfigError(
      'fusion config: itemToken has no part (embeddings "none", sid false and idTable "none")',
    );
  if (t.idTable === 'projected' && t.embeddings === 'none' && t.idDim === undefined)
    throw new ConfigError(
      'fusion config: itemToken.idTable "projected" without a pre-trained table needs itemToken.idDim (the ID table width)',
    );
  if ((t.combine === 'sum' || t.combine === 'tokens') && t.embeddings === 'raw')
    throw new ConfigError(
      `fusion config: itemToken.combine "${t.combine}" needs d-wide parts; raw embeddings are d_m wide (use "linear" or "mlp")`,
    );
  if (cfg.head !== 'target' && t.embeddings !== 'projected')
    throw new ConfigError(
      `fusion config: head "${cfg.head}" scores items with u.proj_m(e_m), which needs itemToken.embeddings "projected" (got "${t.embeddings}")`,
    );
  if (cfg.alignment.weight > 0) {
    if (t.embeddings !== 'projected')
      throw new ConfigError(
        'fusion config: the alignment loss compares projected embeddings; set itemToken.embeddings "projected"',
      );
    if (!cfg.modalities.includes('collaborative') || cfg.modalities.length < 2)
      throw new ConfigError(
        'fusion config: the alignment loss needs "collaborative" and at least one other modality',
      );
  }
  if (cfg.sid.source === 'random' && cfg.sid.init === 'codebook' && t.sid)
    throw new ConfigError(
      'fusion config: random semantic IDs have no codebook to start from; set sid.init "random"',
    );
  return cfg;
}
