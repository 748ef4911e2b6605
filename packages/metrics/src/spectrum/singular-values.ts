import { parseOptions } from '@mmesid/core';
import { MmesidError, symmetricEigenvalues, tf } from '@mmesid/tensor';
import { z } from 'zod';
import { checkTable, type EmbeddingTable } from '../table.js';
import { gramMatrix, resolveRange } from './gram.js';

/** Options of {@link singularValues}. */
export const SingularValueOptionsSchema = z.strictObject({
  /** First row used (inclusive). Set 1 to leave out the padding row 0 of an item table. */
  fromRow: z.number().int().min(0).default(0),
  /** Row after the last one used (exclusive); default: all rows. */
  toRow: z.number().int().min(1).optional(),
  /**
   * Where the Gram matrix is formed. `float64` (default): in JS, exact up to float64 rounding, so
   * normalised singular values down to ~1e-7 are trustworthy. `backend`: `tf.matMul` in float32 on
   * the active tfjs backend, several times faster for large tables, but float32 accumulation
   * limits the trustworthy range to roughly 1e-3 of the largest value.
   */
  gram: z.enum(['float64', 'backend']).default('float64'),
});

/** Options accepted by {@link singularValues} (all optional). */
export type SingularValueOptions = z.input<typeof SingularValueOptionsSchema>;

/** {@link SingularValueOptionsSchema} with its defaults filled in. */
export const SINGULAR_VALUE_DEFAULTS: z.output<typeof SingularValueOptionsSchema> =
  SingularValueOptionsSchema.parse({});

/** A singular-value spectrum, largest first. */
export interface SingularValueSpectrum {
  /** The min(N, d) singular values, descending. */
  readonly values: Float64Array;
  /** `values / values[0]`: 1 first, then the decay the paper plots. */
  readonly normalized: Float64Array;
  /** log10 of `normalized` (the paper's log scale); -Infinity for an exact zero. */
  readonly log10: Float64Array;
  /** Rows (N) and columns (d) of the matrix whose spectrum this is. */
  readonly rows: number;
  readonly cols: number;
  readonly gram: 'float64' | 'backend';
}

/**
 * The singular values of an embedding table (N x d, d up to a few thousand), normalised by the
 * largest and on a log10 scale, as MME-SID plots them to show embedding collapse: a collapsed table
 * has a few large values and a long tail near zero.
 *
 * Computed from the eigenvalues of the Gram matrix (X^T X, or X X^T when N < d) with
 * {@link symmetricEigenvalues}: sigma_i = sqrt(lambda_i). Eigenvalues that rounding makes slightly
 * negative (the Gram matrix is positive semi-definite) give 0. Squaring limits the relative
 * accuracy of the smallest values to about sqrt(eps) of the largest, which is ample for the
 * plot: float64 Gram keeps ~1e-7, float32 (`gram: 'backend'`) ~1e-3.
 *
 * Cost on this project's 2-core CI machine for 12k x 4096: see the package README's benchmark.
 * The table is not modified; with `gram: 'backend'` the tensors made are disposed before return.
 *
 * @see MME-SID Fig. 3b, 4b (embedding collapse: singular values of item embeddings, normalised, log scale)
 * @example
 * const s = await singularValues(sasrecTable, { fromRow: 1 }); // rows 1..12086, skip padding
 * s.values[0]; // 46.3004 for the authors' Beauty SASRec table
 */
export async function singularValues(
  table: EmbeddingTable,
  options?: SingularValueOptions,
): Promise<SingularValueSpectrum> {
  const opts = parseOptions(SingularValueOptionsSchema, options, 'singularValues');
  checkTable(table, 'singularValues: table');
  const { from, to } = resolveRange(table, { fromRow: opts.fromRow, toRow: opts.toRow }, 'singularValues');
  const rows = to - from;
  const cols = table.cols;
  let gram: Float64Array;
  let n: number;
  if (opts.gram === 'float64') {
    const g = gramMatrix(table, { fromRow: from, toRow: to });
    gram = g.data;
    n = g.n;
  } else {
    n = Math.min(rows, cols);
    const product = tf.tidy(() => {
      const x = tf.tensor2d(table.data.subarray(from * cols, to * cols), [rows, cols]);
      const xt = tf.transpose(x);
      // Explicit transposes: matMul's transpose flags take a much slower path on wasm.
      return rows >= cols ? tf.matMul(xt, x) : tf.matMul(x, xt);
    });
    try {
      gram = Float64Array.from(await product.data());
    } finally {
      product.dispose();
    }
  }
  const eig = symmetricEigenvalues(gram, n, { inPlace: true });
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = Math.sqrt(Math.max(0, eig[n - 1 - i]!));
  return { values, ...normalizeSpectrum(values), rows, cols, gram: opts.gram };
}

/**
 * Divides a descending spectrum by its first (largest) value and takes log10. Throws when the
 * largest value is 0 (an all-zero table has no shape to plot).
 */
export function normalizeSpectrum(values: ArrayLike<number>): {
  normalized: Float64Array;
  log10: Float64Array;
} {
  const top = values[0] ?? 0;
  if (!(top > 0))
    throw new MmesidError(`normalizeSpectrum: the largest singular value is ${top}; the table is all zeros`);
  const normalized = new Float64Array(values.length);
  const log10 = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    normalized[i] = values[i]! / top;
    log10[i] = Math.log10(normalized[i]!);
  }
  return { normalized, log10 };
}
