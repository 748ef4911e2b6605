import { MmesidError } from '@mmesid/tensor';

/**
 * A value handed to a metric is not one it can measure: an item id outside the score table, a
 * target that is the padding index, a NaN where a number must be, a code outside the codebook.
 * The message names the argument, the position (row, user, pair) and what was expected.
 *
 * Shape and length mismatches throw `ShapeError` and bad options throw `ConfigError` (both from
 * `@mmesid/tensor`); catch `MmesidError` to catch all three.
 */
export class MetricsInputError extends MmesidError {}
