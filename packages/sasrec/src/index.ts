/**
 * @mmesid/sasrec: SASRec (Kang & McAuley, ICDM 2018) on TensorFlow.js, the collaborative
 * baseline of MME-SID (CIKM'25) and the source of its 64-d ID embeddings. The model as in the
 * reference code, training with sampled-negative BCE (or sampled / full softmax), validation with
 * early stopping, resumable safetensors checkpoints, full-ranking evaluation through
 * `@mmesid/metrics`, and export / import of the item embedding table.
 *
 * @packageDocumentation
 */
export { CausalSelfAttention, causalPaddingBias } from './attention.js';
export { type EpochBatchOptions, epochBatches, type SasrecBatch, type SharedNegatives } from './batches.js';
export {
  SASREC_DEFAULTS,
  type SasrecConfig,
  type SasrecConfigInput,
  SasrecConfigSchema,
  sasrecConfig,
} from './config.js';
export { type EvaluateOptions, evaluateRanking } from './evaluate.js';
export { PointWiseFeedForward } from './feed-forward.js';
export {
  exportItemEmbeddings,
  ITEM_EMB_CONFIG,
  ITEM_EMB_FILE,
  ITEM_EMB_TENSOR,
  type ItemEmbeddingTable,
  loadItemEmbeddings,
} from './item-embeddings.js';
export { type PositionTargets, positionTargets, type SasrecLossName, sasrecLoss } from './loss.js';
export { SASRec, type SasrecInitOptions } from './model.js';
export { CONFIG_FILE, loadSasrec, loadWeights, MODEL_FILE, saveSasrec } from './model-io.js';
export { popularityScorer } from './popularity.js';
export { TrainingProgress } from './progress.js';
export { historyIds, sasrecScorer } from './sasrec-scorer.js';
export type { HistoryScorer } from './scorer.js';
export { type DisposableScorer, type TableReadout, tableScorer } from './table-scorer.js';
export { type TrainSasrecOptions, type TrainSasrecResult, trainSasrec } from './train.js';
export {
  TRAIN_DEFAULTS,
  type TrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
  trainConfig,
} from './train-config.js';
export { type EpochRecord, SASREC_CHECKPOINT_FORMAT, type TrainingState } from './training-state.js';
