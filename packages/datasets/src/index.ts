/**
 * @mmesid/datasets: the data side of MME-SID (CIKM'25). Loads the authors' Amazon Beauty files
 * and the raw Amazon 2014 release, makes the authors' leave-one-out split, item frequencies and
 * seeded batches, and generates a learnable synthetic dataset. No tfjs: batches are typed arrays
 * that any model package turns into tensors.
 *
 * Parsers, splits, batching and the synthetic generator run anywhere; the `load*`, `read*`,
 * `saveEmbedding` and `download` functions need Node.js (they load `node:fs` on first call).
 *
 * @packageDocumentation
 */

// Raw Amazon 2014 and the paper's preprocessing.
export {
  AMAZON_2014_CATEGORIES,
  AMAZON_2014_DEFAULTS,
  type Amazon2014Category,
  type Amazon2014Meta,
  type Amazon2014MetaTable,
  type Amazon2014Options,
  Amazon2014OptionsSchema,
  type Amazon2014Review,
  amazon2014FileNames,
  type LoadAmazon2014Options,
  loadAmazon2014,
  parseAmazon2014Meta,
  parseAmazon2014Review,
  preprocessAmazon2014,
  readAmazon2014Meta,
  readAmazon2014Reviews,
} from './amazon2014.js';
// The authors' layout (sequences.txt, items.csv, *.f32 + *.json).
export {
  type AuthorsItems,
  type AuthorsSequences,
  type LoadAuthorsOptions,
  loadAuthorsDataset,
  type ParseSequencesOptions,
  parseAuthorsItems,
  parseAuthorsSequences,
  saveAuthorsDataset,
} from './authors.js';
export {
  batchCount,
  type ExampleBatch,
  type ExampleBatchOptions,
  ExampleBatchOptionsSchema,
  exampleBatches,
  type SequenceBatch,
  type SequenceBatchOptions,
  SequenceBatchOptionsSchema,
  sequenceBatches,
} from './batching.js';

// Formats.
export { type CsvRecord, type CsvTable, formatCsv, formatCsvField, parseCsv, parseCsvTable } from './csv.js';
// Whatever a --data-dir holds.
export { type LoadDataDirOptions, loadDataDir } from './data-dir.js';
// The dataset type and its parts.
export type { Dataset, FilterRecord, ItemMeta, Matrix, Provenance, SourceFile } from './dataset.js';
export { countInteractions, matrixRow } from './dataset.js';

// Download with cache, checksum and resume.
export {
  AMAZON_2014_BASE_URL,
  amazon2014Sources,
  type DownloadedFile,
  type DownloadOptions,
  DownloadOptionsSchema,
  type DownloadProgress,
  type DownloadResult,
  download,
  type RemoteFile,
} from './download.js';
export {
  decodeEmbedding,
  type EmbeddingMeta,
  EmbeddingMetaSchema,
  type EmbeddingSource,
  embeddingMetaPath,
  loadEmbedding,
  parseEmbeddingMeta,
  saveEmbedding,
} from './embedding.js';
// Errors: every bad input is one of these, with file and line.
export {
  ChecksumError,
  ConfigError,
  CsvFieldCountError,
  CsvSyntaxError,
  DataFormatError,
  DatasetError,
  DownloadError,
  DuplicateItemError,
  DuplicateUserError,
  EmbeddingFileError,
  InvalidIdError,
  JsonLineError,
  OfflineError,
  PythonLiteralError,
  quoteValue,
  type SourceLocation,
  UnknownItemError,
} from './errors.js';
export { readTextLines, type TextLine } from './lines.js';
export { type NegativeSamplingOptions, sampleNegatives } from './negatives.js';
export { type PaddedBatch, type PadOptions, PadOptionsSchema, padSequences } from './padding.js';
export {
  createProgressPrinter,
  type ProgressEvent,
  type ProgressPrinter,
  type ProgressStream,
} from './progress.js';
export { type PyDict, type PythonLiteralSource, type PyValue, parsePythonLiteral } from './python-literal.js';
// Reports.
export {
  type DatasetReport,
  datasetReport,
  formatProvenance,
  formatReport,
  type LengthStats,
  lengthStats,
  type SplitReport,
  splitReport,
} from './report.js';
// The seeded generator (one for the whole project, from @mmesid/core).
export { Rng, SeededRandom } from './seeded-random.js';
// Splits and item frequency.
export {
  type Example,
  itemFrequency,
  LEAVE_ONE_OUT_DEFAULTS,
  type LeaveOneOutOptions,
  LeaveOneOutOptionsSchema,
  type LeaveOneOutSplit,
  leaveOneOut,
  normalizedLogFrequency,
  type TrainingSequences,
  trainingSequences,
  type UserSequence,
} from './split.js';
// Synthetic data.
export {
  generateSynthetic,
  SYNTHETIC_DEFAULTS,
  type SyntheticConfig,
  SyntheticConfigSchema,
  type SyntheticDataset,
} from './synthetic.js';
