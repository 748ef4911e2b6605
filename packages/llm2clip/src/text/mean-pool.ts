import { ShapeError, tf } from '@mmesid/tensor';

/**
 * Mean of the hidden states over real tokens: sum_t m[b,t] h[b,t,:] / sum_t m[b,t], with `mask`
 * [B, T] 1 for tokens and 0 for padding. [B, T, H] -> [B, H]. A row with no real token gives zeros
 * (callers treat an empty input as missing before it gets here). The caller disposes the result.
 *
 * @see LLM2Vec (BehnamGhader et al., 2024), `pooling_mode="mean"`
 */
export function maskedMeanPool(hidden: tf.Tensor, mask: tf.Tensor): tf.Tensor2D {
  if (
    hidden.rank !== 3 ||
    mask.rank !== 2 ||
    hidden.shape[0] !== mask.shape[0] ||
    hidden.shape[1] !== mask.shape[1]
  )
    throw new ShapeError(
      `maskedMeanPool: hidden [B, T, H] and mask [B, T] expected, got [${hidden.shape}] and [${mask.shape}]`,
    );
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const sum = tf.sum(tf.mul(hidden, tf.expandDims(m, 2)), 1);
    const count = tf.maximum(tf.sum(m, 1, true), 1);
    return tf.div(sum, count) as tf.Tensor2D;
  });
}

/**
 * Left-pads token sequences to the longest one: `ids` with `padId` in front, `mask` 0 there and 1 on
 * tokens (the layout LLM2Vec and Llama generation use).
 */
export function leftPad(
  seqs: readonly (readonly number[])[],
  padId: number,
): { ids: number[][]; mask: number[][] } {
  const len = Math.max(1, ...seqs.map((s) => s.length));
  const ids: number[][] = [];
  const mask: number[][] = [];
  for (const s of seqs) {
    const pad = len - s.length;
    ids.push([...new Array<number>(pad).fill(padId), ...s]);
    mask.push([...new Array<number>(pad).fill(0), ...new Array<number>(s.length).fill(1)]);
  }
  return { ids, mask };
}
