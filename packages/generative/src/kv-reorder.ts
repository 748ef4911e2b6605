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

/**
 * The same as {@link reorderCache}, done in host memory: each layer's keys/values are read back
 * once and row r's block (all heads, positions and channels of a row are contiguous) is copied from
 * row `rows[r]`, then uploaded as a new tensor. On the CPU backends this is several times faster
 * than `tf.gather`, whose WASM kernel computes every element's source index (measured in
 * bench/generative.bench.ts); on a GPU backend it costs a device round trip, so keep `reorderCache`
 * there. Disposes `cache`; the caller owns the result.
 */
export async function reorderCacheOnHost(cache: KVCache, rows: Int32Array): Promise<KVCache> {
  const out = new KVCache(cache.numLayers);
  try {
    for (let i = 0; i < cache.numLayers; i++) {
      const kv = cache.layer(i);
      if (!kv) continue;
      const [key, value] = await Promise.all([kv.key, kv.value].map((t) => copyRows(t, rows)));
      try {
        out.update(i, key!, value!); // the cache keeps its own copy
      } finally {
        tf.dispose([key!, value!]);
      }
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  cache.dispose();
  return out;
}

async function copyRows(t: tf.Tensor, rows: Int32Array): Promise<tf.Tensor> {
  const n = t.shape[0]!;
  const src = (await t.data()) as Float32Array;
  const block = n === 0 ? 0 : src.length / n;
  const dst = new Float32Array(rows.length * block);
  rows.forEach((p, r) => {
    if (!(Number.isInteger(p) && p >= 0 && p < n))
      throw new RangeError(`reorderCacheOnHost: row ${p} outside the cache's ${n} rows`);
    dst.set(src.subarray(p * block, (p + 1) * block), r * block);
  });
  return tf.tensor(dst, [rows.length, ...t.shape.slice(1)], t.dtype);
}
