import type { WeightNameTable } from './weight-name-table.js';

/**
 * Checkpoint names -> `Llm2ClipTextAdapter` parameters (`adaptor.{i}.ln.*`, `adaptor.{i}.fn.0.*`,
 * `adaptor.{i}.fn.3.*`, `adaptor.{N}.*` LayerNorm, `adaptor.{N+1}.*` projection).
 *
 * Status, row by row:
 * - `text.text_adaptor.*`: the EVA-CLIP training code of LLM2CLIP (`TextProj.text_adaptor`, an
 *   `nn.Sequential` of `LinearBlock(fn, ln)`, LayerNorm, Linear) - read from the published source.
 * - `text_adapter.adaptor.*`: what we expect in the Hugging Face LLM2CLIP-Openai-L-14-336 checkpoint
 *   (`LLM2CLIPModel.text_adapter` holding the same Sequential as `adaptor`). NOT verified: the hub was
 *   unreachable from where this was written. On a machine with the file, list its names
 *   (`python -c "from safetensors import safe_open; print([k for k in safe_open('model.safetensors','pt').keys() if 'adapt' in k])"`)
 *   and fix the pattern here if they differ; an unmatched name fails the load, never half-loads.
 * - `adaptor.*`: files saved by this package (`saveWeights(path, adapter)`).
 */
export const LLM2CLIP_ADAPTER_NAMES: WeightNameTable = [
  {
    pattern: /^text_adapter\.(adaptor\..+)$/,
    to: (m) => m[1]!,
    note: 'HF LLM2CLIP checkpoint (assumed, unverified)',
  },
  {
    pattern: /^text\.text_adaptor\.(.+)$/,
    to: (m) => `adaptor.${m[1]}`,
    note: 'LLM2CLIP EVA-CLIP training checkpoint',
  },
  { pattern: /^(adaptor\..+)$/, to: (m) => m[1]!, note: 'saved by @mmesid/llm2clip' },
  {
    pattern: /^(vision_model\.|visual_projection\.|visual\.)/,
    to: null,
    note: 'vision tower: loaded by CLIP_VISION_NAMES',
  },
  {
    pattern: /^(text_model\.|text_projection\.)/,
    to: null,
    note: "CLIPModel's own text tower, not used by LLM2CLIP",
  },
  { pattern: /^logit_scale$/, to: null, note: 'contrastive temperature, not needed to encode' },
];
