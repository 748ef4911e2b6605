import type { tf } from '@mmesid/tensor';
import type { EmbeddingMatrix, ModalityInputs } from './data.js';

/**
 * Item embeddings -> semantic IDs. Not the LLM's text tokenizer (@mmesid/llama) nor fusion's
 * `ItemTokenizer` (item id -> the LLM's input embedding of the item).
 *
 * What every semantic-ID tokenizer offers (the MM-RQ-VAE and the RQ-KMeans baseline alike), so
 * the fusion stage, the reports and the reproduce app handle either the same way.
 *
 * Each modality has its own L levels x K codes of width `latentDim(modality)` (eDim for the
 * MM-RQ-VAE, the input width for RQ-KMeans). Row i of every input and output is item i.
 */
export interface SemanticIdTokenizer {
  readonly kind: 'mm-rqvae' | 'rq-kmeans';
  /** Modality names, the anchor (collaborative) first. */
  readonly modalities: readonly string[];
  /** L, the number of levels. */
  readonly levels: number;
  /** K, codes per level. */
  readonly codebookSize: number;
  /** Width of the codes of a modality. */
  latentDim(modality: string): number;
  /** Semantic IDs per modality, a row-major Int32Array N x L. */
  assign(inputs: ModalityInputs): Promise<Record<string, Int32Array>>;
  /** Quantised embeddings (the sum of each item's codes) per modality, N x latentDim. */
  quantize(inputs: ModalityInputs): Promise<Record<string, EmbeddingMatrix>>;
  /** Back in the input space: the decoder's output for the MM-RQ-VAE, the quantised embedding for RQ-KMeans. */
  reconstruct(inputs: ModalityInputs): Promise<Record<string, EmbeddingMatrix>>;
  /** Codebooks per modality, [L, K, latentDim] tensors the caller disposes. */
  codebooks(): Record<string, tf.Tensor3D>;
  /** Frees every tensor the tokenizer owns. */
  dispose(): void;
}
