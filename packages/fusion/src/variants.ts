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

/** One named variant: a configuration of the same parts, plus what it needs from the pipeline. */
export interface VariantSpec {
  readonly name: VariantName;
  /** One line saying what it is. */
  readonly description: string;
  /** Where the paper (or the work it cites) describes it, and what here is our reading. */
  readonly paperRef: string;
  /** `'all'`: every modality the caller has (collaborative first); `'collaborative'`: that one only. */
  readonly modalities: 'all' | 'collaborative';
  /** The config fields that define it (everything else is the MME-SID default). */
  readonly config: Readonly<Omit<FusionConfigInput, 'modalities'>>;
  /** Needs an MM-RQ-VAE export (semantic IDs and codebooks). */
  readonly needsSemanticIds: boolean;
  /** The reconstruction loss the MM-RQ-VAE behind its SIDs must have been trained with. */
  readonly sidReconstruction?: 'mmd' | 'mse';
}

const noSid = { embeddings: 'projected', sid: false } as const;

/**
 * The paper's comparisons as configurations of one model (item-token builder, SID embeddings,
 * scoring head, loss). The paper's Section 5 was not readable from this machine (only its
 * abstract, the authors' README and code were); definitions marked "our reading" are ours,
 * built from the names, the authors' code and the cited works.
 *
 * @example
 * const spec = VARIANTS['MME-SID-random'];
 * const cfg = variantConfig('MME-SID-random', { modalities: ['collaborative', 'text'] });
 */
export const VARIANTS: Readonly<Record<VariantName, VariantSpec>> = Object.freeze({
  E4SRec: {
    name: 'E4SRec',
    description:
      'collaborative (SASRec) ID embedding projected to one token per item; linear prediction head over all items',
    paperRef: 'Table 3 baseline (Li et al. 2023, E4SRec); the embedding-collapse case of the analysis',
    modalities: 'collaborative',
    config: { itemToken: { ...noSid, combine: 'sum' }, head: 'target' },
    needsSemanticIds: false,
  },
  ME: {
    name: 'ME',
    description:
      'multimodal embeddings only: projected collaborative/text/visual embeddings -> MLP token, fusion head, no SIDs',
    paperRef: 'ablation "ME" (MME-SID without semantic IDs); our reading',
    modalities: 'all',
    config: { itemToken: { ...noSid, combine: 'mlp' }, head: 'fusion' },
    needsSemanticIds: false,
  },
  Concat: {
    name: 'Concat',
    description: 'raw modality embeddings concatenated, one Linear to the token; linear prediction head',
    paperRef: 'multimodal-fusion baseline "Concat"; our reading (concatenate, then project)',
    modalities: 'all',
    config: { itemToken: { embeddings: 'raw', sid: false, combine: 'linear' }, head: 'target' },
    needsSemanticIds: false,
  },
  'Concat&MLP': {
    name: 'Concat&MLP',
    description:
      'raw modality embeddings concatenated, MLP (ReLU, GELU out) to the token; linear prediction head',
    paperRef:
      'multimodal-fusion baseline "Concat&MLP"; our reading (the authors\' MLP on the raw concatenation)',
    modalities: 'all',
    config: { itemToken: { embeddings: 'raw', sid: false, combine: 'mlp' }, head: 'target' },
    needsSemanticIds: false,
  },
  'CTRL-MM': {
    name: 'CTRL-MM',
    description:
      'projected modality embeddings summed into the token, aligned to the collaborative one by InfoNCE; linear head',
    paperRef:
      'Table 3 baseline, CTRL (Li et al. 2023) extended to multimodal; our reading (joint InfoNCE, weight 0.1, tau 0.1)',
    modalities: 'all',
    config: {
      itemToken: { ...noSid, combine: 'sum' },
      head: 'target',
      alignment: { weight: 0.1, temperature: 0.1 },
    },
    needsSemanticIds: false,
  },
  'MME-SID': {
    name: 'MME-SID',
    description:
      'projected multimodal embeddings + SID embeddings initialised from the MM-RQ-VAE codebooks, MLP token, frequency-aware fusion',
    paperRef: "the proposed method (Table 3); the authors' model.py",
    modalities: 'all',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'MME-SID-random': {
    name: 'MME-SID-random',
    description: 'MME-SID with the SID embeddings initialised at random instead of from the codebooks',
    paperRef: 'ablation of the codebook initialisation (Kendall tau 0.0508 after fine-tuning)',
    modalities: 'all',
    config: { sid: { init: 'random' } },
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'MME-random': {
    name: 'MME-random',
    description:
      'MME-SID with random semantic IDs (uniform codes per item and level) and random code embeddings',
    paperRef: 'ablation "MME-random"; our reading (random IDs, so the SID part carries no semantics)',
    modalities: 'all',
    config: { sid: { source: 'random', init: 'random' } },
    needsSemanticIds: false,
  },
  'SE-random': {
    name: 'SE-random',
    description:
      'single (collaborative) embedding + random semantic IDs with random code embeddings, fusion head',
    paperRef: 'ablation "SE-random"; our reading',
    modalities: 'collaborative',
    config: { sid: { source: 'random', init: 'random' } },
    needsSemanticIds: false,
  },
  'SE-SID-MMD': {
    name: 'SE-SID-MMD',
    description:
      'single (collaborative) embedding + its SIDs from an RQ-VAE trained with the MMD reconstruction, codebook init',
    paperRef: 'ablation of the reconstruction loss (tau 0.4436 for MMD); our reading of the SE-SID rows',
    modalities: 'collaborative',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
  'SE-SID-MSE': {
    name: 'SE-SID-MSE',
    description:
      'single (collaborative) embedding + its SIDs from an RQ-VAE trained with the MSE reconstruction, codebook init',
    paperRef: 'ablation of the reconstruction loss (tau 0.3714 for MSE); our reading of the SE-SID rows',
    modalities: 'collaborative',
    config: {},
    needsSemanticIds: true,
    sidReconstruction: 'mse',
  },
  'w/o Fusion': {
    name: 'w/o Fusion',
    description:
      'MME-SID scored by the new target-item table alone (no frequency-aware fusion of the modality terms)',
    paperRef:
      'ablation "w/o Fusion"; we drop the modality terms (head "target"); head "equal" is the equal-weights alternative',
    modalities: 'all',
    config: { head: 'target' },
    needsSemanticIds: true,
    sidReconstruction: 'mmd',
  },
});

/** True when `name` is one of {@link VARIANT_NAMES}. */
export function isVariantName(name: string): name is VariantName {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/**
 * The validated config of a named variant: its defining fields over the MME-SID defaults, then
 * `overrides` (e.g. the modalities the pipeline has, a seed, `itemsAtEnd`). The variant's own fields
 * win over nested overrides of the same field only where the variant sets them.
 *
 * @param available the modalities the caller has tables for; `'all'` variants use these, collaborative first
 * @throws ConfigError for an unknown name, or a variant whose modalities are not available
 * @example
 * variantConfig('E4SRec', {}, ['collaborative', 'text', 'visual']).modalities; // ['collaborative']
 */
export function variantConfig(
  name: string,
  overrides: FusionConfigInput = {},
  available: readonly string[] = ['collaborative', 'visual', 'text'],
): FusionConfig {
  if (!isVariantName(name))
    throw new ConfigError(`unknown variant "${name}"; the variants are: ${VARIANT_NAMES.join(', ')}`);
  const spec = VARIANTS[name];
  if (!available.includes('collaborative'))
    throw new ConfigError(
      `variant ${name}: needs a "collaborative" item table (have ${available.join(', ') || 'none'})`,
    );
  const modalities =
    overrides.modalities ??
    (spec.modalities === 'collaborative'
      ? ['collaborative']
      : ['collaborative', ...available.filter((m) => m !== 'collaborative')]);
  const c = spec.config;
  return parseFusionConfig({
    ...overrides,
    ...c,
    modalities,
    itemToken: { ...overrides.itemToken, ...c.itemToken },
    sid: { ...overrides.sid, ...c.sid },
    alignment: { ...overrides.alignment, ...c.alignment },
  });
}
