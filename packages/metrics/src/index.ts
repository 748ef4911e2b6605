/**
 * @mmesid/metrics: the yardsticks of MME-SID. Full-ranking HR/nDCG/MRR@k exactly as the authors
 * evaluate (streaming over batches on the tfjs backend), Kendall's tau-b and the paper's
 * distance-order forgetting measure, singular-value spectra for embedding collapse, MMD (a JS
 * report version and a differentiable tensor loss), and semantic-ID collision / codebook statistics.
 */
export { MetricsInputError } from './errors.js';
export {
  type DistanceMetric,
  type DistanceOptions,
  type DistanceOrderTau,
  distanceOrderTau,
  pairDistances,
} from './kendall/distance-order.js';
export {
  type BehaviouralPairReading,
  type BehaviouralPairs,
  behaviouralPairs,
  type ItemPairs,
  type PairSource,
  randomItemPairs,
} from './kendall/item-pairs.js';
export { type KendallCounts, kendallCounts, kendallTauA, kendallTauB } from './kendall/kendall-tau.js';
export { type MmdResult, mmd } from './mmd/mmd.js';
export { mmdLoss } from './mmd/mmd-loss.js';
export {
  type GaussianKernel,
  GaussianKernelSchema,
  MMD_DEFAULTS,
  type MmdOptions,
  MmdOptionsSchema,
  MULTI_KERNEL_ALPHAS,
} from './mmd/options.js';
export { FullRankingEvaluator } from './ranking/evaluator.js';
export { RANKING_DEFAULTS, type RankingOptions, RankingOptionsSchema } from './ranking/options.js';
export {
  flattenRankingMetrics,
  metricsFromRanks,
  PAPER_KS,
  type RankingMetrics,
} from './ranking/rank-metrics.js';
export { type RankedBatch, rankTargets, rankTargetsShared } from './ranking/rank-targets.js';
export { type Recommendations, type TopKOptions, topKRecommendations } from './ranking/top-k.js';
export { type CodeMatrix, type LevelStats, type SemanticIdStats, semanticIdStats } from './sid/sid-stats.js';
export { type GramMatrix, gramMatrix, type RowRange } from './spectrum/gram.js';
export {
  normalizeSpectrum,
  SINGULAR_VALUE_DEFAULTS,
  type SingularValueOptions,
  SingularValueOptionsSchema,
  type SingularValueSpectrum,
  singularValues,
} from './spectrum/singular-values.js';
export type { EmbeddingTable } from './table.js';
