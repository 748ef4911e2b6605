/** Numbers as the page shows them. */

/** Bytes in B, kB, MB or GB (powers of 1000). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[u]}`;
}

/** Milliseconds, or seconds above 10 s. */
export function formatMs(ms: number): string {
  return ms < 10_000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A score with 4 significant decimals (the page keeps the full value in `data-score`). */
export function formatScore(s: number): string {
  return Math.abs(s) >= 1000 ? s.toExponential(3) : s.toFixed(4);
}
