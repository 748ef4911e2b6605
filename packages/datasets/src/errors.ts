/**
 * Typed errors of @mmesid/datasets. Every error about a file names the file and, where it has one,
 * the 1-based line, so a user can open the file at the fault. Nothing in this package skips a bad
 * record silently: it either throws one of these or counts what a documented filter removed.
 * All of them extend `MmesidError` (from @mmesid/core), the base of every typed error of mmesid.
 */
import { MmesidError } from '@mmesid/core';

/** An option object does not validate against its zod schema (the one `ConfigError` of mmesid). */
export { ConfigError } from '@mmesid/core';

/** The base of this package's errors about data (files, records, downloads). */
export class DatasetError extends MmesidError {}

/**
 * A value quoted for an error message: JSON-quoted, cut to `max` characters with the full length
 * said, so a 10 MB bad token does not become a 10 MB message.
 */
export function quoteValue(value: string, max = 80): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}... (${value.length} characters)`;
}

/** Where a fault is: a file and, when the file is line-oriented, a 1-based line (and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

function where(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

/**
 * A record in a data file is malformed. The message starts with `file:line` (or `file:line:column`).
 * Subclasses say which rule was broken; catch this class to catch them all.
 */
export class DataFormatError extends DatasetError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly detail: string;
  constructor(loc: SourceLocation, detail: string, options?: { cause?: unknown }) {
    super(`${where(loc)}: ${detail}`, options);
    this.file = loc.file;
    this.line = loc.line;
    this.column = loc.column;
    this.detail = detail;
  }
}

/** A field that must be an integer id (user or item) is not a plain non-negative decimal integer, or is 0 where 0 is padding. */
export class InvalidIdError extends DataFormatError {}

/** An item id is larger than the item table (`items.csv`) it is checked against. */
export class UnknownItemError extends DataFormatError {}

/** The same user id appears on two lines of a sequence file (`firstLine` is where it was first seen). */
export class DuplicateUserError extends DataFormatError {
  constructor(
    loc: SourceLocation,
    readonly userId: string,
    readonly firstLine: number,
  ) {
    super(loc, `user ${userId} appears again (first on line ${firstLine}); expected one line per user`);
  }
}

/** The same item id (or asin) appears twice in an item table. */
export class DuplicateItemError extends DataFormatError {}

/** A CSV record does not have as many fields as the header. */
export class CsvFieldCountError extends DataFormatError {
  constructor(
    loc: SourceLocation,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(loc, `expected ${expected} fields (as in the header) but found ${actual}`);
  }
}

/** CSV text breaks RFC 4180 quoting (an unterminated quoted field, a stray quote, text after a closing quote). */
export class CsvSyntaxError extends DataFormatError {}

/** A line of a JSON-lines file is not valid JSON, or lacks a required field. */
export class JsonLineError extends DataFormatError {}

/** A Python literal (one line of an Amazon 2014 metadata file) does not parse. */
export class PythonLiteralError extends DataFormatError {}

/** An embedding file's byte count or its JSON description is wrong. */
export class EmbeddingFileError extends DataFormatError {}

/** A downloaded file does not have the expected size or sha256; the bad bytes were deleted. */
export class ChecksumError extends DatasetError {
  constructor(
    readonly file: string,
    readonly kind: 'size' | 'sha256',
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `${file}: ${kind} mismatch: expected ${expected}, got ${actual}. The file was deleted; ` +
        'download again, or pass the size/sha256 you expect if the publisher changed the file.',
    );
  }
}

/** A download failed for a reason other than being offline (an HTTP error status, a truncated body). */
export class DownloadError extends DatasetError {}

/**
 * The network could not be reached. The message lists every file that was needed, with its URL and
 * where it would have been cached, and how to use local copies instead (`--data-dir`).
 */
export class OfflineError extends DatasetError {
  constructor(
    message: string,
    readonly files: readonly { readonly url: string; readonly path: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
