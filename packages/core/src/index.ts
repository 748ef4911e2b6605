/**
 * @mmesid/core: the dependency-free base of mmesid, imported by @mmesid/datasets (which has no
 * tfjs) and by @mmesid/tensor (which re-exports the parts model code needs). One owner for each
 * concept every package shares: the typed error base, options parsing, the seeded RNG, progress
 * printing, lazily loaded Node built-ins and atomic file writes.
 */

export { ConfigError, MmesidError } from './errors.js';
export {
  type PendingFile,
  pathExists,
  readJson,
  readJsonIfExists,
  writeBytesAtomic,
  writeDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
  writeTemp,
} from './files.js';
export {
  type DuplicateKey,
  describeDuplicateKey,
  firstDuplicateKey,
  type JsonErrorClass,
  parseJson,
} from './json.js';
export { type NodeBuiltins, nodeBuiltins } from './node-builtins.js';
export { parseOptions, type SafeParser, type SchemaIssue } from './parse-options.js';
export {
  formatDuration,
  type ProgressStream,
  progressBar,
  StatusLine,
  type StatusLineOptions,
} from './progress.js';
export { Rng } from './rng.js';
