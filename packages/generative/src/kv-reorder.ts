import { KVCache } from '@mmesid/llama';
import { tf } from '@mmesid/tensor';

/**
 * A new cache whose row r is row `rows[r]` of `cache` (rows may repeat or be dropped), for beam
 * search: each beam continues the keys/values of its parent. Disposes `cache`; the caller owns the
 * result. Uses only the public `layer` / `update` API of `@mmesid/llama`'s {@link KVCache}.
 */
export function reorderCache(cache: KVCache, rows: Int32Array): KVCache {
  const out = new KVCache(cache.numLayers);
  try {
    tf.tidy(() => {
      const idx = tf.tensor1d(rows, 'int32');
      for (let i = 0; i < cache.numLayers; i++) {
        const kv = cache.layer(i);
        if (!kv) continue;
        out.update(i, tf.gather(kv.key, idx), tf.gather(kv.value, idx));
      }
    });
  } catch (e) {
    out.dispose();
    throw e;
  }
  cache.dispose();
  return out;
}
