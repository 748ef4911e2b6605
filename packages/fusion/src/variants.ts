import { ConfigError } from '@mmesid/tensor';
import { type FusionConfig, type FusionConfigInput, parseFusionConfig } from './config.js';

/** The names of the paper's comparisons that this package builds. */
export const VARIANT_NAMES = [
  'E4SRec',
  'ME',
  'Concat',
  'Concat&MLP',
  'CTRL-MM',
  'MME-SID',
  'MME-SID-random',
  'MME-random',
  'SE-random',
  'SE-SID-MMD',
  'SE-SID-MSE',
  'w/o Fusion',
] as const;

/** One of {@link VARIANT_NAMES}. */
export type VariantName = (typeof VARIANT_NAMES)[number];

/** A second reading of an ambiguous definition, kept as an option (`variantConfig(..., { reading: 'alternative' })`). */
export interface VariantReading {
  readonly description: string;
  readonly config: Readonly<Omit<FusionConfigInput, 'modalities'>>;
  readonly needsSemanticIds: boolean;
}

/** One named variant: a configuration of the same parts, plus what it needs from the pipeline. */
export interface VariantSpec {
  readonly name: VariantName;
  /** One line saying what it is. */
  readonly description: string;
  /** Where the paper defines it (Table 2 / Section 5.3, see ../shared/paper/FIGURES.md), and what here is our reading. */
  readonly paperRef: string;
  /** `'all'`: every modality the caller has (collaborative first); `'collaborative'`: that one only. */
  readonly modalities: 'all' | 'collaborative';
  /** The config fields that define it (everything else is the MME-SID default). */
  readonly config: Readonly<Omit<FusionConfigInput, 'modalities'>>;
  /** Needs an MM-RQ-VAE export (semantic IDs and codebooks). */
  readonly needsSemanticIds: boolean;
  /** The reconstruction loss the MM-RQ-VAE behind its SIDs must have been trained with. */
  readonly sidReconstruction?: 'mmd' | 'mse';
  /** The other reading, where the paper's definition admits two. */
  readonly alternative?: VariantReading;
}

/** The item-token parts that are off unless a variant turns them on. */
const off = { embeddings: 'none', sid: false, idTable: 'none' } as const;
/** W_m SG(e_m) + b_m for every modality, nothing else. */
const projectedOnly = { ...off, embeddings: 'projected' } as const;

/**
 * The paper's comparisons (Table 2 and Section 5.3; our summary is ../shared/paper/FIGURES.md) as
 * configurations of one model: item-token builder, SID embeddings, new ID tables, scoring head,
 * loss. Where the paper admits two readings, the one chosen is the config and the other is
 * `alternative` (see the fusion README's variant table).
 *
 * Invariants the tests check from hand-set weights: E4SRec, ME and SE-random read only the
 * collaborative modality (SE-random not even its pre-trained table); Concat's token is affine in
 * the projected embeddings, CTRL-MM's is Concat&MLP's MLP and it adds an InfoNCE term to the loss.
 *
 * @example
 * const cfg = variantConfig('CTRL-MM', { seed: 1 }, ['collaborative', 'text', 'visual']);
 */
export const VARIANTS: Readonly<Record<VariantName, VariantSpec>> = Object.freeze({
  E4SRec: {
    name: 'E4SRec',
    description:
      'one token per item, W_I SG(E_I) + b_I (the projected SASRec embedding); linear head u . T_i over all items',
    paperRef: 'Table 2/3 baseline (Li et al. 2023, E4SRec); the embedding-collapse case of Fig. 3b',
    modalities: 'collaborative',
    config: { itemToken: { ...projectedOnly, combine: 'sum' }, head: 'target' },
    needsSemanticIds: false,
  },
  ME: {
    name: 'ME',
    description:
      "one token per item, W_I SG(E_I) + b_I + W'_I E'_I + b'_I: the projected SASRec embedding plus a new random ID table E'_I (as wide as E_I) through its own Linear; linear head",
    paperRef: 'Table 2/3 baseline "ME" (collaborative only; the paper\'s "and" read as a sum into one token)',
    modalities: 'collaborative',
    config: { itemToken: { ...projectedOnly, idTable: 'projected', combine: 'sum' }, head: 'target' },
    needsSemanticIds: false,
    alternative: {
      description: 'the two parts as two tokens per item instead of their sum',
      config: { itemToken: { ...projectedOnly, idTable: 'projected', combine: 'tokens' }, head: 'target' },
      needsSemanticIds: false,
    },
  },
  Concat: {
    name: 'Concat',
    description:
      'one token per item, a Linear(3d -> d) of [W_I e_I + b_I, W_T e_T + b_T, W_V e_V + b_V] (one 3d vector projected, affine in the embeddings); linear head',
    paperRef:
      'Table 2/3 baseline "Concat" (likened to CoLLM/LLaRA); our reading: one concatenated vector projected. Alternative: three tokens per item',
    modalities: 'all',
    config: { itemToken: { ...projectedOnly, combine: 'linear' }, head: 'target' },
    needsSemanticIds: false,
    alternative: {
      description: 'three tokens per item, W_m SG(e_m) + b_m for m = I, T, V in sequence (CoLLM/LLaRA-style)',
      config: { itemToken: { ...projectedOnly, combine: 'tokens' }, head: 'target' },
      needsSemanticIds: false,
    },
  },
  'Concat&MLP': {
    name: 'Concat&MLP',
    description:
      "one token per item, the authors' MLP (3d -> 3d -> d, ReLU inside, GELU out) of [W_m e_m + b_m] over m = I, T, V; linear head",
    paperRef: 'Table 2/3 baseline "Concat&MLP"',
    modalities: 'all',
    config: { itemToken: { ...projectedOnly, combine: 'mlp' }, head: 'target' },
    needsSemanticIds: false,
  },
  'CTRL-MM': {
    name: 'CTRL-MM',
    description:
      "Concat&MLP's token plus an InfoNCE loss aligning the projected collaborative embedding with the projected text and visual ones (weight 0.1, temperature 0.1); linear head",
    paperRef:
      'Table 2/3 baseline CTRL (Li et al. 2023) extended to multimodal; the weight and temperature are ours (the paper gives none)',
    modalities: 'all',
    config: {
      itemToken: { ...projectedOnly, combine: 'mlp' },
      head: 'target',
      alignment: { weight: 0.1, temperature: 0.1 },
    },
    needsSemanticIds: false,
  },
  'MME-SID': {
    name: 'MME-SID',
    description:
      'MLP of [W_m e_m + b_m, sum_l CE_{SID^l_m}] over m = I, V, T, SID embeddings initialised from the MM-RQ-VAE codebooks; frequency-aware fusion head',
    paperRef: "the proposed method (Table 2/3); the authors' model.py",
    modalities: 'all',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'MME-SID-random': {
    name: 'MME-SID-random',
    description: 'MME-SID with the SID embeddings initialised at random instead of from the codebooks',
    paperRef: 'Fig. 4 / the forgetting analysis (Kendall tau 0.0508 after fine-tuning)',
    modalities: 'all',
    config: { sid: { init: 'random' } },
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'MME-random': {
    name: 'MME-random',
    description:
      "MME-SID's input size with each modality's SID embeddings replaced by a new random ID table [N + 1, d] (MLP of [W_m e_m + b_m, E'_m,i]); fusion head",
    paperRef: 'Fig. 5b ablation "MME-random". Alternative: random semantic IDs with random code embeddings',
    modalities: 'all',
    config: { itemToken: { sid: false, idTable: 'direct' } },
    needsSemanticIds: false,
    alternative: {
      description: 'random semantic IDs (uniform codes per item and level) with random code embeddings',
      config: { sid: { source: 'random', init: 'random' } },
      needsSemanticIds: false,
    },
  },
  'SE-random': {
    name: 'SE-random',
    description:
      "only a randomly initialised item ID table E' [N + 1, 64] through a Linear to d (about E4SRec's parameter count); no pre-trained table, no fusion terms; linear head",
    paperRef:
      'Fig. 5b ablation "SE-random" (the worst row). Alternative: a d-wide random table without the Linear',
    modalities: 'collaborative',
    config: {
      itemToken: { ...off, idTable: 'projected', idDim: 64, combine: 'sum' },
      head: 'target',
    },
    needsSemanticIds: false,
    alternative: {
      description: 'a d-wide random ID table used directly as the token',
      config: { itemToken: { ...off, idTable: 'direct', combine: 'sum' }, head: 'target' },
      needsSemanticIds: false,
    },
  },
  'SE-SID-MMD': {
    name: 'SE-SID-MMD',
    description:
      'MME-SID restricted to the collaborative modality: MLP of [W_I e_I + b_I, SID embedding], SIDs from an RQ-VAE with MMD reconstruction, codebook init, fusion head',
    paperRef: 'Fig. 3a/4 (tau 0.4436 for MMD reconstruction)',
    modalities: 'collaborative',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'SE-SID-MSE': {
    name: 'SE-SID-MSE',
    description: 'SE-SID-MMD with SIDs from an RQ-VAE trained with the MSE reconstruction',
    paperRef: 'Fig. 4 (tau 0.3714 for MSE reconstruction)',
    modalities: 'collaborative',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mse',
  },
  'w/o Fusion': {
    name: 'w/o Fusion',
    description: "MME-SID's tokens scored by the target table alone, u . T_i (no frequency-aware fusion)",
    paperRef: 'Fig. 5b ablation "w/o Fusion". Alternative: the 1 + M terms with equal weights',
    modalities: 'all',
    config: { head: 'target' },
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
    alternative: {
      description: 'the 1 + M score terms averaged with equal weights',
      config: { head: 'equal' },
      needsSemanticIds: true,
    },
  },
});

/** True when `name` is one of {@link VARIANT_NAMES}. */
export function isVariantName(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/** Which reading of a variant: the chosen one (default) or its `alternative`. */
export interface VariantConfigOptions {
  reading?: 'chosen' | 'alternative';
}

/**
 * The validated config of a named variant: its defining fields over the MME-SID defaults, then
 * `overrides` (e.g. a seed, `itemsAtEnd`, the fusion temperature). The variant's own fields win
 * over nested overrides of the same field only where the variant sets them.
 *
 * @param available the modalities the caller has tables for; `'all'` variants use these, collaborative first
 * @throws ConfigError for an unknown name, a variant whose modalities are not available, or an
 *   alternative reading asked of a variant that has none
 * @example
 * variantConfig('E4SRec', {}, ['collaborative', 'text', 'visual']).modalities; // ['collaborative']
 * variantConfig('Concat', {}, ['collaborative', 'text'], { reading: 'alternative' }).itemToken.combine; // 'tokens'
 */
export function variantConfig(
  name: string,
  overrides: FusionConfigInput = {},
  available: readonly string[] = ['collaborative', 'visual', 'text'],
  opts: VariantConfigOptions = {},
): FusionConfig {
  if (!isVariantName(name))
    throw new ConfigError(`unknown variant "${name}"; the variants are: ${VARIANT_NAMES.join(', ')}`);
  const spec = VARIANTS[name];
  if (!available.includes('collaborative'))
    throw new ConfigError(
      `variant ${name}: needs a "collaborative" item table (have ${available.join(', ') || 'none'})`,
    );
  if (opts.reading === 'alternative' && !spec.alternative)
    throw new ConfigError(
      `variant ${name} has one reading; alternatives exist for ${VARIANT_NAMES.filter((n) => VARIANTS[n].alternative).join(', ')}`,
    );
  const modalities =
    overrides.modalities ??
    (spec.modalities === 'collaborative'
      ? ['collaborative']
      : ['collaborative', ...available.filter((m) => m !== 'collaborative')]);
  const c = opts.reading === 'alternative' ? spec.alternative!.config : spec.config;
  return parseFusionConfig({
    ...overrides,
    ...c,
    modalities,
    itemToken: { ...overrides.itemToken, ...c.itemToken },
    sid: { ...overrides.sid, ...c.sid },
    alignment: { ...overrides.alignment, ...c.alignment },
  });
}
