import type { WeightNameTable } from './weight-name-table.js';

/**
 * Checkpoint names -> `ClipVisionModelWithProjection` parameters. Our module tree uses Hugging Face's
 * `CLIPVisionModelWithProjection` names, so the vision tensors map to themselves; the rest of an
 * LLM2CLIP or `CLIPModel` checkpoint is skipped by name, and anything else fails the load.
 *
 * Status: the `vision_model.*` / `visual_projection.weight` names are transformers' CLIP names (stable
 * across versions); they were not read from the real LLM2CLIP-Openai-L-14-336 file here (no access to
 * the hub). If that file differs, edit this table: the loader's error lists every unmatched name.
 */
export const CLIP_VISION_NAMES: WeightNameTable = [
  {
    pattern: /^vision_model\.embeddings\.position_ids$/,
    to: null,
    note: 'index buffer [0..S) saved by older transformers versions; recomputed, not a weight',
  },
  { pattern: /^(vision_model\..+)$/, to: (m) => m[1]!, note: 'HF CLIP vision tower, same names' },
  { pattern: /^(visual_projection\.weight)$/, to: (m) => m[1]!, note: 'HF CLIP visual projection (no bias)' },
  { pattern: /^text_adapter\./, to: null, note: 'LLM2CLIP text adapter: loaded by LLM2CLIP_ADAPTER_NAMES' },
  {
    pattern: /^(text_model\.|text_projection\.)/,
    to: null,
    note: "CLIPModel's own text tower, not used by LLM2CLIP",
  },
  { pattern: /^logit_scale$/, to: null, note: 'contrastive temperature, not needed to encode' },
];
