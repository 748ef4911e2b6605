import { z } from 'zod';

/**
 * One Gaussian kernel k(a, b) = exp(-||a - b||^2 / (2 sigma^2)), with either
 *
 * - a fixed bandwidth: `{ sigma }`; or
 * - a data-driven one, recomputed on every call from the pooled sample Z = [X; Y] (like tllib's
 *   `GaussianKernel(alpha=...)`): `{ bandwidth: 'mean', alpha }` sets
 *   sigma^2 = alpha * mean(||z_i - z_j||^2) over all (n + m)^2 ordered pairs, the zero diagonal
 *   included (exactly tllib's statistic); `{ bandwidth: 'median', alpha }` sets
 *   sigma^2 = alpha * median(||z_i - z_j||^2) over the distinct pairs i < j (numpy's median: the
 *   mean of the two middle values for an even count).
 *
 * Gradients never flow through a data-driven bandwidth (tllib detaches it too).
 */
export const GaussianKernelSchema = z.union([
  z.strictObject({ sigma: z.number().positive() }),
  z.strictObject({ bandwidth: z.enum(['mean', 'median']), alpha: z.number().positive().default(1) }),
]);

/** A kernel as accepted by the MMD functions (`alpha` optional). */
export type GaussianKernel = z.input<typeof GaussianKernelSchema>;

/** Options of {@link mmd} and {@link mmdLoss}. */
export const MmdOptionsSchema = z.strictObject({
  /**
   * The kernels, summed (a multi-kernel MMD as in tllib's `MultipleKernelMaximumMeanDiscrepancy`).
   * Default: one kernel with tllib's default bandwidth, alpha 1 times the mean squared distance.
   */
  kernels: z
    .array(GaussianKernelSchema)
    .min(1)
    .default([{ bandwidth: 'mean', alpha: 1 }]),
  /**
   * `biased` (default; the V-statistic, the squared RKHS distance between the two empirical mean
   * embeddings: never negative, 0 for identical samples) or `unbiased` (the U-statistic without the
   * i = j terms; can be slightly negative; needs at least 2 points per sample).
   */
  estimator: z.enum(['biased', 'unbiased']).default('biased'),
});

/** Options accepted by the MMD functions (all optional). */
export type MmdOptions = z.input<typeof MmdOptionsSchema>;

/** {@link MmdOptionsSchema} with its defaults filled in. */
export const MMD_DEFAULTS: z.output<typeof MmdOptionsSchema> = MmdOptionsSchema.parse({});

/**
 * tllib's multi-kernel default for domain adaptation (DAN): Gaussian kernels with
 * alpha = 2^-3 .. 2^1 times the mean squared distance.
 */
export const MULTI_KERNEL_ALPHAS: readonly number[] = Object.freeze([0.125, 0.25, 0.5, 1, 2]);
