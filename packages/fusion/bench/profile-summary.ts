// tf.profile's kernels grouped by kernel name for the profiling scripts (step-profile.ts,
// eval-profile.ts): count and time per name, the `top` slowest names, each with its two costliest
// input shapes.
import type { tf } from '@mmesid/tensor';

export function summarizeProfile(
  p: Awaited<ReturnType<typeof tf.profile>>,
  top: number,
  digits: number,
): { kernels: number; ms: number; lines: string[] } {
  const names = new Map<string, { n: number; ms: number; shapes: Map<string, number> }>();
  let ms = 0;
  for (const k of p.kernels) {
    const e = names.get(k.name) ?? { n: 0, ms: 0, shapes: new Map<string, number>() };
    const t = Number(k.kernelTimeMs) || 0;
    e.n++;
    e.ms += t;
    const key = k.inputShapes.map((x: number[]) => `[${x}]`).join('');
    e.shapes.set(key, (e.shapes.get(key) ?? 0) + t);
    names.set(k.name, e);
    ms += t;
  }
  const lines = [...names.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([n, e]) => {
      const sh = [...e.shapes.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([k, t]) => `${k} ${t.toFixed(digits)}ms`);
      return `\n    ${n} ${e.n}x ${e.ms.toFixed(digits)} ms (${sh.join('; ')})`;
    });
  return { kernels: p.kernels.length, ms, lines };
}
