import type { tf } from '@mmesid/tensor';
import { infoNce } from './infonce.js';
import { gaussianMmd } from './reconstruction.js';

/** Options of {@link alignmentLoss}. */
export interface AlignmentOptions {
  /** 'infonce' (the paper's Eq. 6) or 'mmd' (the authors' released code, commit f5b0689). */
  kind: 'infonce' | 'mmd';
  /** InfoNCE temperature. */
  temperature: number;
  /** MMD bandwidth factor (sigma^2 = alpha * mean squared pairwise distance). */
  alpha: number;
  /** MMD estimator (see `reconstructionLoss`). */
  estimator?: 'unbiased' | 'biased';
}

/**
 * The alignment term between the anchor modality's quantised embeddings and another modality's,
 * row i of both being the same item. InfoNCE pulls each item's two embeddings together and pushes
 * other items' apart (a per-item correspondence); MMD only matches the two distributions as wholes.
 * Both are differentiable in both inputs. The caller disposes the scalar.
 *
 * @see MME-SID Eq. 6
 */
export function alignmentLoss(anchor: tf.Tensor2D, other: tf.Tensor2D, opts: AlignmentOptions): tf.Scalar {
  return opts.kind === 'infonce'
    ? infoNce(anchor, other, opts.temperature)
    : gaussianMmd(anchor, other, opts.alpha, opts.estimator ?? 'unbiased');
}
