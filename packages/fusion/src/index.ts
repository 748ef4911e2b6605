/**
 * @mmesid/fusion: the MME-SID model (CIKM'25) on TensorFlow.js. Item tokens from frozen multimodal
 * embeddings and semantic-ID embeddings initialised from the MM-RQ-VAE codebooks, spliced into a
 * Llama prompt fine-tuned with LoRA; the last hidden state scores every item through a new target
 * table and the modality embeddings, fused per item by a frequency-aware module. The paper's
 * baselines and ablations are named configurations of the same parts (`VARIANTS`). Training in the
 * authors' one-pair-per-forward mode or an efficient all-positions mode, checkpoint/resume,
 * full-ranking evaluation, the forgetting and collapse analyses, and export/load of a run for
 * inference (also in a browser).
 */

export { type EmbeddingSpectra, embeddingSpectra, sidDistanceTau, sidEmbeddingTable } from './analyses.js';
export { CHECKPOINT_FILES, loadCheckpoint, saveCheckpoint, type TrainProgressState } from './checkpoint.js';
export {
  AlignmentConfigSchema,
  AUTHORS_MODALITY_ORDER,
  FUSION_DEFAULTS,
  type FusionConfig,
  type FusionConfigInput,
  FusionConfigSchema,
  FusionHeadConfigSchema,
  FusionLoraConfigSchema,
  ItemTokenConfigSchema,
  LossConfigSchema,
  parseFusionConfig,
  SidConfigSchema,
  tableModalities,
} from './config.js';
export {
  type CreateMmeSidOptions,
  createFromConfig,
  createMmeSid,
  loadTokenizerFor,
  resolveSemanticIds,
} from './create.js';
export {
  type EvaluateOptions,
  type EvaluationPair,
  type EvaluationResult,
  evaluateMmeSid,
  lengthBatches,
} from './evaluate.js';
export { FrequencyFusion, type FrequencyFusionOptions } from './frequency-fusion.js';
export { FrozenScorer, type FrozenScorerOptions } from './inference.js';
export {
  checkItemTables,
  frequencyFeature,
  type ItemTable,
  type ModalitySemanticIds,
  randomSemanticIds,
  type SemanticIdExportLike,
  type SemanticIds,
  semanticIdsFromExport,
} from './item-data.js';
export { FrozenTable, IdTable, ItemTokenizer, type ItemTokenizerOptions } from './item-tokenizer.js';
export {
  FREQUENCY_KEY,
  MmeSidModel,
  type MmeSidParts,
  type ParameterSummary,
  type PrefixRequest,
} from './model.js';
export {
  AUTHORS_CODE_PROMPT,
  AUTHORS_INSTRUCTION,
  AUTHORS_LLAMA3_TEMPLATE,
  AUTHORS_SYSTEM,
  type BuildPromptOptions,
  buildPrompt,
  type PromptStyle,
  type PromptTemplate,
  promptFromIds,
} from './prompt.js';
export { type Recommendation, recommend } from './recommend.js';
export {
  type ExportRunOptions,
  exportRun,
  type LoadRunOptions,
  loadRun,
  loadRunFromFiles,
  RUN_FILES,
  type RunFileReader,
  type RunManifest,
  serializeRun,
} from './run-io.js';
export { ScoreHead, type ScoreHeadOptions } from './score-head.js';
export { SidEmbedding, type SidEmbeddingOptions } from './sid-embedding.js';
export { type TrainHooks, type TrainProgress, type TrainResult, trainMmeSid, warmupOf } from './train.js';
export {
  AUTHORS_TRAINING,
  parseTrainConfig,
  TRAIN_DEFAULTS,
  type TrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
} from './train-config.js';
export { groupBySequence, type SequenceUnit, type TrainingPair } from './train-units.js';
export {
  isVariantName,
  VARIANT_NAMES,
  VARIANTS,
  type VariantConfigOptions,
  type VariantName,
  type VariantReading,
  type VariantSpec,
  variantConfig,
} from './variants.js';
