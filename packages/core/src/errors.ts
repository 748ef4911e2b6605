/**
 * The error base every @mmesid package throws from, and the one error for options that do not
 * validate. Each message names the file, line, tensor or field at fault and what was expected, so a
 * user can act on it without reading our source. Catch `MmesidError` to catch every typed error of
 * the project; package-specific classes (`ShapeError` in @mmesid/tensor, `DataFormatError` in
 * @mmesid/datasets, ...) extend it.
 */
export class MmesidError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config or options object failed validation; the message names every field that is wrong. */
export class ConfigError extends MmesidError {}
