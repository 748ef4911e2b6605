import { ShapeError, tf } from '@mmesid/tensor';

/**
 * Symmetric InfoNCE between two aligned batches `a` [B, d] and `b` [B, d'] (d = d' here): row i of
 * `a` and row i of `b` are a positive pair, every other row of the batch a negative. Logits are
 * cosine similarities divided by `temperature`; the loss is the mean of the cross-entropies in
 * both directions (a -> b and b -> a), each averaged over the batch.
 *
 * MME-SID aligns the quantised collaborative embedding with the quantised textual and visual ones
 * this way (Eq. 6); the authors' code calls the `info_nce` package with its default temperature
 * 0.1 in one direction only. A batch of one has no negative and gives log(1) = 0.
 *
 * Differentiable in both inputs; the caller disposes the scalar.
 *
 * @see MME-SID Eq. 6
 * @example
 * const loss = infoNce(quantizedCollab, quantizedText, 0.1);
 */
export function infoNce(a: tf.Tensor2D, b: tf.Tensor2D, temperature = 0.1): tf.Scalar {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0] || a.shape[1] !== b.shape[1])
    throw new ShapeError(
      `infoNce: expected two [B, d] batches of the same shape, got [${a.shape}] and [${b.shape}]`,
    );
  if (!(temperature > 0)) throw new ShapeError(`infoNce: temperature must be > 0, got ${temperature}`);
  return tf.tidy(() => {
    const an = l2Normalize(a);
    const bn = l2Normalize(b);
    const logits = tf.div(tf.matMul(an, bn, false, true), temperature);
    const n = a.shape[0];
    const eye = tf.eye(n);
    // Cross-entropy with the diagonal as the target class, row-wise (a -> b) and column-wise (b -> a).
    const ab = tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits, 1), eye), 1));
    const ba = tf.mean(tf.sum(tf.mul(tf.logSoftmax(tf.transpose(logits), 1), eye), 1));
    return tf.div(tf.add(ab, ba), -2) as tf.Scalar;
  });
}

/** x / max(||x||, 1e-8) row by row (PyTorch's F.normalize). */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-8)) as tf.Tensor2D);
}
