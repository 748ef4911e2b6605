/**
 * A 32-bit FNV-1a hash of an encoder input (title or image source), stored per row in the cache so
 * that an item whose title or image changed is encoded again instead of served stale.
 */
export function inputHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h | 0;
}
