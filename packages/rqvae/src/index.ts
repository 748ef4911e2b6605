/**
 * @mmesid/rqvae: semantic-ID tokenizers for MME-SID. The MM-RQ-VAE (per-modality MLP encoder,
 * residual quantiser with k-means init and optional Sinkhorn levels, MLP decoder; MMD or MSE
 * reconstruction; InfoNCE or MMD alignment between modalities), the RQ-KMeans baseline behind
 * the same interface, training with checkpoint/resume, export of IDs, codebooks and quantised
 * embeddings, and the reports (reconstruction, collisions, codebook usage, forgetting tau).
 */
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
export { parseTrainOptions, TRAIN_DEFAULTS, type TrainOptions, type TrainOptionsInput, TrainOptionsSchema } from './train-options.js';
export { type EmbeddingMatrix, type ModalityInputs } from './data.js';
export type { SemanticIdTokenizer } from './tokenizer.js';
export { squaredDistances } from './distance.js';
export { kmeans, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { sinkhornAssign, type SinkhornOptions } from './sinkhorn.js';
export { type LevelOutput, VectorQuantizer } from './vector-quantizer.js';
export {
  type QuantizeOptions,
  type QuantizeOutput,
  ResidualQuantizer,
  type ResidualQuantizerOptions,
} from './residual-quantizer.js';
export { gaussianMmd, type ReconstructionOptions, reconstructionLoss } from './reconstruction.js';
export { infoNce } from './infonce.js';
export { type AlignmentOptions, alignmentLoss } from './alignment.js';
export { ModalityBranch, MMRQVAE, type ReadOptions, type RqvaeLosses } from './mm-rqvae.js';
export { RQKMeans } from './rq-kmeans.js';
export { type TrainHooks, type TrainResult, trainRqvae } from './train.js';
export { type EpochReport, formatEpoch, progressPrinter } from './progress.js';
export { resetDeadCodes } from './dead-codes.js';
export { type ModalityReport, type ReportOptions, type TauPair, tokenizerReport } from './report.js';
export { loadTrainingCheckpoint, saveTrainingCheckpoint, type TrainState } from './checkpoint.js';
export {
  EXPORT_FILES,
  type ExportConfig,
  type ExportedModality,
  exportSemanticIds,
  loadExport,
  loadTokenizer,
  type SemanticIdExport,
} from './export.js';
