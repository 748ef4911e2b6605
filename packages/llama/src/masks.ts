/**
 * Attention masks and default positions. A padding mask is [B, S] with 1 for real tokens and 0 for
 * padding, where S counts cached positions plus the new ones (as in Hugging Face).
 */
import { ShapeError, tf } from '@mmesid/tensor';

/** What callers may pass as a [B, T] integer matrix: a tensor or nested arrays. */
export type IntMatrix = tf.Tensor | number[][];

/** A value added to masked attention scores: large enough to zero them after softmax, finite so that a
 * row with every key masked (a padding query) stays finite instead of becoming NaN. */
export const MASKED_SCORE = -1e9;

/** Turns nested arrays into a tensor of the given dtype (a tensor is returned as a new reference). */
export function toTensor2d(x: IntMatrix, dtype: 'int32' | 'float32', what: string): tf.Tensor {
  if (x instanceof tf.Tensor) {
    if (x.rank !== 2)
      throw new ShapeError(`${what}: expected a [batch, length] tensor, got shape [${x.shape}]`);
    return x.dtype === dtype ? tf.clone(x) : tf.cast(x, dtype);
  }
  if (!Array.isArray(x) || x.length === 0 || !Array.isArray(x[0]))
    throw new ShapeError(`${what}: expected a non-empty number[][] (batch x length)`);
  const len = x[0]!.length;
  for (const [i, row] of x.entries())
    if (row.length !== len)
      throw new ShapeError(`${what}: row ${i} has length ${row.length}, row 0 has ${len}`);
  return tf.tensor2d(x, [x.length, len], dtype);
}

/**
 * Positions for the new tokens, int32 [B, T]. Without a mask: past, past + 1, ... With a padding mask
 * [B, S] (S = past + T), each row counts from its first real token, as Hugging Face's `generate` does
 * with `position_ids = cumsum(mask) - 1` (padding positions get 1; they are masked anyway), so a
 * left-padded sequence sees the same positions as the unpadded one.
 */
export function defaultPositions(
  batch: number,
  past: number,
  length: number,
  mask: tf.Tensor | null,
): tf.Tensor {
  return tf.tidy(() => {
    if (!mask) {
      const row = tf.range(past, past + length, 1, 'int32');
      return tf.tile(tf.expandDims(row, 0), [batch, 1]);
    }
    const m = tf.cast(tf.notEqual(mask, 0), 'float32');
    const pos = tf.sub(tf.cumsum(m, 1), 1);
    const filled = tf.where(tf.equal(m, 0), tf.onesLike(pos), pos);
    const S = mask.shape[1]!;
    return tf.cast(tf.slice(filled, [0, S - length], [batch, length]), 'int32');
  });
}

/**
 * The additive attention bias, broadcastable to [B, 1, 1, T, S] (0 where a query may attend, {@link MASKED_SCORE}
 * elsewhere), or null when nothing is masked. Query t sits at absolute position `past + t`; with
 * `causal` it sees keys 0..past+t; a padding mask hides padded keys from every query.
 */
export function attentionBias(opts: {
  batch: number;
  past: number;
  length: number;
  mask: tf.Tensor | null;
  causal: boolean;
}): tf.Tensor | null {
  const { batch, past, length, mask, causal } = opts;
  const S = past + length;
  if (!mask && (!causal || length === 1)) return null;
  return tf.tidy(() => {
    // 1 where allowed, 0 where not; multiplying the two factors is a logical "and" that broadcasts.
    let allowed: tf.Tensor | null = null;
    if (causal) {
      const q = tf.reshape(tf.range(past, past + length, 1, 'float32'), [length, 1]);
      const k = tf.reshape(tf.range(0, S, 1, 'float32'), [1, S]);
      allowed = tf.reshape(tf.cast(tf.lessEqual(k, q), 'float32'), [1, 1, 1, length, S]);
    }
    if (mask) {
      const keyOk = tf.reshape(tf.cast(tf.notEqual(mask, 0), 'float32'), [batch, 1, 1, 1, S]);
      allowed = allowed ? tf.mul(allowed, keyOk) : keyOk;
    }
    return tf.mul(tf.sub(1, allowed!), MASKED_SCORE);
  });
}
