/**
 * @mmesid/llm2clip: item embeddings for MME-SID's encoding stage. Textual and visual item vectors in
 * LLM2CLIP's aligned space (the LLM2Vec Llama text encoder with the LLM2CLIP adapter, the CLIP ViT
 * vision tower with its projection), two offline text encoders for machines without the checkpoints
 * (Llama mean pooling, TF-IDF + truncated SVD), one `ModalityEncoder` interface over all of them, and
 * `encodeItems`, which batches, shows progress, caches on disk and resumes.
 */

export {
  EMBEDDING_TABLE_FORMAT,
  type EmbeddingTable,
  type EmbeddingTableSummary,
  embeddingTableJsonPath,
  readEmbeddingTable,
  writeEmbeddingTable,
} from './cache/embedding-table.js';
export { inputHash } from './cache/input-hash.js';
export {
  type EncodeItemsOptions,
  type EncodeItemsResult,
  encodeItems,
  type ItemSource,
} from './encode-items.js';
export { EmbeddingCacheError, ImageLoadError, MissingInputError, WeightNameError } from './errors.js';
export {
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_PROCESSOR_336,
  CLIP_IMAGE_STD,
  type ClipImageProcessorConfig,
  ClipImageProcessorConfigSchema,
  clipImageProcessorConfig,
  clipImageProcessorConfigFromHf,
  preprocessClipImage,
  shortestEdgeSize,
} from './image/clip-image-processor.js';
export { decodeImage, type ImageFormat, sniffImageFormat } from './image/decode-image.js';
export { isUrl, type LoadImageOptions, loadImage, loadImageBytes } from './image/load-image.js';
export { resizeBicubic } from './image/resize-bicubic.js';
export { type RgbImage, rgbaToRgb } from './image/rgb-image.js';
export { type Item, type ItemMetaLike, itemsFromMeta } from './item.js';
// The encoder contract and the batch runner.
export {
  type BatchEncoding,
  type EncoderInput,
  encodeBatchOf,
  inputId,
  inputImage,
  inputText,
  isStagedEncoder,
  type MissingInput,
  type Modality,
  type ModalityEncoder,
  type StagedEncoder,
  strictVectors,
} from './modality-encoder.js';
export {
  type EncodeProgress,
  formatProgress,
  type ProgressStream,
  progressPrinter,
} from './progress.js';
export {
  type LlamaMeanPoolOptions,
  LlamaMeanPoolTextEncoder,
  loadTokenizer,
  type TextTokenizer,
} from './text/llama-mean-pool-text-encoder.js';
export { llama3UserTemplate } from './text/llama3-user-template.js';
export { Llm2VecTextEncoder, type Llm2VecTextEncoderOptions } from './text/llm2vec-text-encoder.js';
export { leftPad, maskedMeanPool } from './text/mean-pool.js';
export { type RandomizedSvdOptions, randomizedSvd, type TruncatedSvd } from './text/randomized-svd.js';
export {
  type SparseRows,
  sparseRowsFromMaps,
  sparseTimesDense,
  sparseTransposeTimesDense,
} from './text/sparse-rows.js';
export { Llm2ClipTextAdapter, l2Normalize } from './text/text-adapter.js';
// Text: LLM2CLIP (LLM2Vec backbone + adapter) and the offline encoders.
export {
  TEXT_ADAPTER_DEFAULTS,
  type TextAdapterConfig,
  TextAdapterConfigSchema,
  textAdapterConfig,
} from './text/text-adapter-config.js';
export { type TfidfSvdOptions, TfidfSvdTextEncoder } from './text/tfidf-svd-text-encoder.js';
export {
  charWbNgrams,
  TFIDF_DEFAULTS,
  type TfidfConfig,
  TfidfConfigSchema,
  TfidfVectorizer,
  type TfidfVectorizerJson,
  wordNgrams,
} from './text/tfidf-vectorizer.js';
export { ClipAttention, ClipEncoderLayer, ClipMlp } from './vision/clip-encoder-layer.js';
// Vision: CLIP ViT with projection, preprocessing, image loading.
export {
  CLIP_VISION_L14_336_DEFAULTS,
  type ClipVisionConfig,
  ClipVisionConfigSchema,
  clipVisionConfig,
  clipVisionConfigFromHf,
} from './vision/clip-vision-config.js';
export { ClipVisionEmbeddings, patchify } from './vision/clip-vision-embeddings.js';
export { ClipVisionEncoder, type ClipVisionEncoderOptions } from './vision/clip-vision-encoder.js';
export { ClipVisionModelWithProjection } from './vision/clip-vision-model.js';
export { CLIP_VISION_NAMES } from './weights/clip-vision-names.js';
export { type LoadWeightsReport, loadWeights, saveWeights } from './weights/load-weights.js';
export { LLM2CLIP_ADAPTER_NAMES } from './weights/text-adapter-names.js';
// Weights: name tables (fail loudly on unknown names) and loaders.
export {
  mapWeightNames,
  type WeightNameMapping,
  type WeightNameRule,
  type WeightNameTable,
} from './weights/weight-name-table.js';
