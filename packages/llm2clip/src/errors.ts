/**
 * Errors specific to this package. Shape, config, state-dict and safetensors problems use the shared
 * classes of @mmesid/tensor (`ShapeError`, `ConfigError`, `StateDictError`, `SafetensorsError`).
 */
import { MmesidError } from '@mmesid/tensor';

/**
 * An image could not be read, fetched or decoded. `source` is the path or URL as given; the message
 * says what went wrong (missing file, network unreachable, HTTP status, unsupported format) and how
 * to fix it. Encoders report it per item instead of throwing for the whole batch.
 */
export class ImageLoadError extends MmesidError {
  constructor(
    readonly source: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${source}: ${reason}`, options);
  }
}

/**
 * Some inputs of a batch could not be encoded (an image that does not load, an item without a title).
 * Thrown by `ModalityEncoder.encode`; `encodeItems` catches nothing: it uses `encodeBatch`, which
 * returns the same information without throwing. `failures[i].index` is the position in the batch.
 */
export class MissingInputError extends MmesidError {
  constructor(
    readonly encoder: string,
    readonly failures: readonly { index: number; id?: number; reason: string }[],
  ) {
    const head = failures
      .slice(0, 5)
      .map((f) => `#${f.index}${f.id !== undefined ? ` (item ${f.id})` : ''}: ${f.reason}`)
      .join('; ');
    const more = failures.length > 5 ? `; ... (${failures.length - 5} more)` : '';
    super(`${encoder}: ${failures.length} input(s) could not be encoded: ${head}${more}`);
  }
}

/**
 * A checkpoint holds a tensor name that the weight-name table neither maps nor explicitly ignores,
 * or lacks one the model needs. The message names the file and the tensors; fix the table in
 * `src/weights/*-names.ts` if the published checkpoint uses other names than we assumed.
 */
export class WeightNameError extends MmesidError {
  constructor(
    readonly file: string,
    message: string,
    readonly tensors: readonly string[] = [],
  ) {
    super(`${file}: ${message}`);
  }
}

/**
 * An embedding cache on disk does not belong to this run (another encoder, dimension or item count)
 * or is malformed. The message names the file and what differs; delete the file or pick another path.
 */
export class EmbeddingCacheError extends MmesidError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** What the file-reading parts of this package say outside Node (see `nodeBuiltins` in @mmesid/core). */
export const NODE_ONLY =
  '@mmesid/llm2clip: reading and writing files (checkpoints, images, the embedding cache)';
