/**
 * @mmesid/rqvae: semantic-ID tokenizers for MME-SID. The MM-RQ-VAE (per-modality MLP encoder,
 * residual quantiser with k-means init and optional Sinkhorn levels, MLP decoder; MMD or MSE
 * reconstruction; InfoNCE or MMD alignment between modalities), the RQ-KMeans baseline behind
 * the same interface, training with checkpoint/resume, export of IDs, codebooks and quantised
 * embeddings, and the reports (reconstruction, collisions, codebook usage, forgetting tau).
 */

export { type AlignmentOptions, alignmentLoss } from './alignment.js';
export { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainState } from './checkpoint.js';
export {
  AUTHORS_RQVAE,
  type Modality,
  ModalitySchema,
  parseRqKMeansConfig,
  parseRqvaeConfig,
  RQVAE_DEFAULTS,
  type RqKMeansConfig,
  type RqKMeansConfigInput,
  RqKMeansConfigSchema,
  type RqvaeConfig,
  type RqvaeConfigInput,
  RqvaeConfigSchema,
} from './config.js';
export type { EmbeddingMatrix, ModalityInputs } from './data.js';
export { resetDeadCodes } from './dead-codes.js';
export { squaredDistances } from './distance.js';
export {
  EXPORT_FILES,
  type ExportConfig,
  type ExportedModality,
  exportSemanticIds,
  loadExport,
  loadTokenizer,
  type SemanticIdExport,
} from './export.js';
export { infoNce } from './infonce.js';
export { type KMeansOptions, type KMeansResult, kmeans } from './kmeans.js';
export { MMRQVAE, ModalityBranch, type ReadOptions, type RqvaeLosses } from './mm-rqvae.js';
export { type EpochReport, formatEpoch, progressPrinter } from './progress.js';
export { gaussianMmd, type ReconstructionOptions, reconstructionLoss } from './reconstruction.js';
export { type ModalityReport, type ReportOptions, type TauPair, tokenizerReport } from './report.js';
export {
  type QuantizeOptions,
  type QuantizeOutput,
  ResidualQuantizer,
  type ResidualQuantizerOptions,
} from './residual-quantizer.js';
export { RQKMeans } from './rq-kmeans.js';
export type { SemanticIdTokenizer } from './semantic-id-tokenizer.js';
export { type SinkhornOptions, sinkhornAssign } from './sinkhorn.js';
export { type TrainHooks, type TrainResult, trainRqvae } from './train.js';
export {
  parseTrainOptions,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainOptionsInput,
  TrainOptionsSchema,
} from './train-options.js';
export { type LevelOutput, VectorQuantizer } from './vector-quantizer.js';
