/**
 * @mmesid/generative: generative retrieval over semantic IDs for the MME-SID reproduction. A SID
 * vocabulary with per-level tokens and TIGER's collision level, new token embeddings beside a
 * Llama's, a prefix trie of every item, trie-constrained beam search reusing the Llama's KV cache,
 * next-token training with LoRA, and the paper's semantic-ID-only baselines (TIGER-MM, LETTER, MOTOR).
 */

export {
  collidingRows,
  collisionGroups,
  type LetterConfig,
  type LetterEpoch,
  type LetterIds,
  type LetterLosses,
  LetterTokenizer,
  letterSemanticIds,
  type TrainLetterOptions,
  trainLetter,
} from './baselines/letter.js';
export {
  balancedClusters,
  collaborativeAlignmentLoss,
  diversityLoss,
  rankingGuidedLoss,
  samplePositives,
} from './baselines/letter-losses.js';
export { MotorModel, type MotorOptions, type TrainMotorOptions, trainMotor } from './baselines/motor.js';
export { segmentsFromExports, type TigerMmOptions, tigerMmVocabulary } from './baselines/tiger-mm.js';
export {
  type BeamSearchOptions,
  type BeamSearchResult,
  beamSearch,
  type SidStepDecoder,
} from './beam-search.js';
export {
  GENERATIVE_FILES,
  type GenerativeCheckpointConfig,
  loadGenerative,
  saveGenerative,
} from './checkpoint.js';
export { BeamSearchError, SidCollisionError, SidVocabularyMismatchError } from './errors.js';
export { type EvaluateGenerativeOptions, evaluateGenerative, type GenerativeEvaluation } from './evaluate.js';
export {
  embeddingStd,
  GENERATIVE_LORA,
  type GenerativeExample,
  type GenerativePrompt,
  GenerativeRecommender,
  type GenerativeRecommenderOptions,
  LlamaSidDecoder,
  leftPad,
  type RecommendOptions,
} from './generative-model.js';
export { reorderCache, reorderCacheOnHost } from './kv-reorder.js';
export { SidTokenEmbeddings, type SidTokenEmbeddingsOptions } from './sid-tokens.js';
export { SidTrie } from './sid-trie.js';
export {
  DISAMBIGUATION_SEGMENT,
  type Disambiguation,
  type SidCollisionReport,
  type SidSegmentCodes,
  type SidSlot,
  SidVocabulary,
  type SidVocabularyOptions,
  type SidVocabularySpec,
} from './sid-vocabulary.js';
export { type TrainGenerativeOptions, type TrainGenerativeResult, trainGenerative } from './train.js';
