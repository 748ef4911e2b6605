import { Rng } from '@mmesid/core';

export { Rng };

/**
 * The project's seeded generator under its old @mmesid/datasets name.
 * @deprecated use `Rng` (from this package, @mmesid/core or @mmesid/tensor: the same class).
 */
export const SeededRandom = Rng;
/** @deprecated use `Rng`. */
export type SeededRandom = Rng;
