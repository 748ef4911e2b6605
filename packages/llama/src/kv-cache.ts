import { ShapeError, tf } from '@mmesid/tensor';

/**
 * Per-layer key/value tensors for incremental decoding, each [batch, kv_heads, length, head_dim],
 * already rotated (RoPE applied), grown by concatenation as tokens are fed.
 *
 * Ownership: the cache owns its tensors. `forward({ cache })` appends to it in place (disposing the
 * previous, shorter tensors); call `dispose()` when you are done with it. It is an inference-time
 * structure: gradients do not flow into earlier steps through it.
 *
 * @example
 * const cache = new KVCache(model.config.num_hidden_layers);
 * try {
 *   const a = model.forward({ inputIds: [[1, 403, 407]], cache, logitsFor: 'last' });
 *   const b = model.forward({ inputIds: [[261]], cache, logitsFor: 'last' }); // position 3
 *   tf.dispose([a.logits, a.lastHiddenState, b.logits, b.lastHiddenState]);
 * } finally {
 *   cache.dispose();
 * }
 */
export class KVCache {
  private readonly keys: (tf.Tensor | null)[];
  private readonly values: (tf.Tensor | null)[];

  constructor(readonly numLayers: number) {
    this.keys = new Array(numLayers).fill(null);
    this.values = new Array(numLayers).fill(null);
  }

  /** Number of positions held (0 when empty). */
  get length(): number {
    return this.keys[0]?.shape[2] ?? 0;
  }

  /** Batch size of the cached tensors, or undefined when empty. */
  get batchSize(): number | undefined {
    return this.keys[0]?.shape[0];
  }

  /** The cached [B, kv_heads, length, head_dim] key and value of a layer (live tensors; do not dispose). */
  layer(i: number): { key: tf.Tensor; value: tf.Tensor } | null {
    const k = this.keys[i];
    const v = this.values[i];
    return k && v ? { key: k, value: v } : null;
  }

  /**
   * Appends new keys/values for layer `i` and returns the full ones (owned by the cache). Used by the
   * attention layers; safe inside `tf.tidy` (the stored tensors are kept).
   */
  update(i: number, key: tf.Tensor, value: tf.Tensor): { key: tf.Tensor; value: tf.Tensor } {
    if (i < 0 || i >= this.numLayers)
      throw new RangeError(`KVCache: layer ${i} out of range (0..${this.numLayers - 1})`);
    const oldK = this.keys[i];
    const oldV = this.values[i];
    if (oldK && oldK.shape[0] !== key.shape[0])
      throw new ShapeError(
        `KVCache: batch size ${key.shape[0]} does not match the cached batch size ${oldK.shape[0]}`,
      );
    const k = tf.keep(oldK ? tf.concat([oldK, key], 2) : tf.clone(key));
    const v = tf.keep(oldV ? tf.concat([oldV, value], 2) : tf.clone(value));
    oldK?.dispose();
    oldV?.dispose();
    this.keys[i] = k;
    this.values[i] = v;
    return { key: k, value: v };
  }

  /** Frees every cached tensor; the cache is empty (and reusable) afterwards. Safe to call twice. */
  dispose(): void {
    for (let i = 0; i < this.numLayers; i++) {
      this.keys[i]?.dispose();
      this.values[i]?.dispose();
      this.keys[i] = null;
      this.values[i] = null;
    }
  }
}
