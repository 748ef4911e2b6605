import type { SemanticIdExport } from '@mmesid/rqvae';
import { ShapeError } from '@mmesid/tensor';
import { type Disambiguation, type SidSegmentCodes, SidVocabulary } from '../sid-vocabulary.js';

/**
 * Re-indexes `@mmesid/rqvae` exports by item id (row i = item i, row 0 = padding), one segment per
 * modality. Several exports (one RQ-VAE per modality, as TIGER-MM trains them) are merged; a modality
 * name may appear once.
 *
 * @throws ShapeError when an export does not cover items 1..numItems or a name repeats
 */
export function segmentsFromExports(
  exports: readonly SemanticIdExport[],
  numItems: number,
): Record<string, SidSegmentCodes> {
  const out: Record<string, SidSegmentCodes> = {};
  for (const exp of exports) {
    const first = exp.config.firstItemId;
    for (const [name, m] of Object.entries(exp.modalities)) {
      if (out[name]) throw new ShapeError(`segmentsFromExports: modality "${name}" comes from two exports`);
      const L = m.levels;
      const last = first + m.rows - 1;
      if (first > 1 || last < numItems)
        throw new ShapeError(
          `segmentsFromExports: "${name}" covers items ${first}..${last}, the dataset has 1..${numItems}`,
        );
      const ids = new Int32Array((numItems + 1) * L);
      ids.set(m.ids.subarray((1 - first) * L, (1 - first + numItems) * L), L);
      out[name] = { ids, levels: L, codebookSize: m.codebookSize, codebooks: m.codebooks, dim: m.dim };
    }
  }
  return out;
}

/** Options of {@link tigerMmVocabulary}. */
export interface TigerMmOptions {
  /**
   * Modalities whose SIDs the model generates. Default: all of them, in the order given, so the
   * target is written exactly as a history item is (the paper: "the LLM generates an item's SIDs").
   * `['collaborative']` is the alternative: generate only the collaborative codes (shorter decoding,
   * more collisions, resolved by the disambiguation level).
   */
  target?: readonly string[];
  disambiguation?: Disambiguation;
}

/**
 * TIGER-MM's vocabulary (MME-SID Table 3 baseline): one RQ-VAE per modality (collaborative, text,
 * visual where present), each history item written as the concatenation of its per-modality SIDs
 * (modalities in the order given), the target generated as its SIDs (see {@link TigerMmOptions.target}),
 * plus TIGER's collision level.
 *
 * @see MME-SID Sec. 5.3 (TIGER-MM); TIGER (Rajput et al., 2023)
 */
export function tigerMmVocabulary(
  segments: Readonly<Record<string, SidSegmentCodes>>,
  opts: TigerMmOptions = {},
): SidVocabulary {
  return SidVocabulary.build(segments, {
    ...(opts.target ? { target: opts.target } : {}),
    disambiguation: opts.disambiguation ?? 'auto',
  });
}
