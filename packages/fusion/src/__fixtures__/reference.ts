/**
 * Test helpers for checking the fusion math against values computed independently of tfjs: plain
 * JavaScript loops over row-major arrays, written from the formulas (the paper's Table 2, the
 * authors' `model.py`), not from the module code. Also hand-set, deterministic weights for any
 * module: every parameter gets values from its name, so a test can read the same numbers back.
 */
import type { Module, tf } from '@mmesid/tensor';

/** A row-major matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Deterministic "hand-set" values in [-scale, scale], distinct per label and index. */
export function handValues(label: string, n: number, scale = 0.6): Float64Array {
  let h = 17;
  for (const c of label) h = (h * 31 + c.charCodeAt(0)) % 1000003;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sin(h * 0.013 + i * 0.7 + 0.3 * ((i * i) % 7));
  return out;
}

/**
 * Sets every trainable parameter of `module` to {@link handValues} of its full name (`prefix` +
 * the module path) and returns them by name (the float32-rounded values the module now holds),
 * with their shapes.
 */
export function setHandWeights(
  module: Module,
  tfns: typeof tf,
  prefix = '',
): Map<string, { shape: number[]; data: Float64Array }> {
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, p] of module.namedParameters()) {
    if (!p.trainable) continue;
    const v = Float32Array.from(handValues(prefix + name, p.size));
    const t = tfns.tensor(v, p.shape, 'float32');
    p.assign(t);
    t.dispose();
    out.set(name, { shape: [...p.shape], data: Float64Array.from(v) });
  }
  return out;
}

/** y = W x + b for a PyTorch-layout weight W [out, in] (row-major) and bias b [out] (or none). */
export function linear(x: ArrayLike<number>, w: Float64Array, out: number, b?: Float64Array): number[] {
  const inp = x.length;
  if (w.length !== out * inp)
    throw new Error(`linear: weight has ${w.length} values, expected ${out}x${inp}`);
  const y: number[] = [];
  for (let o = 0; o < out; o++) {
    let s = b ? b[o]! : 0;
    for (let i = 0; i < inp; i++) s += w[o * inp + i]! * x[i]!;
    y.push(s);
  }
  return y;
}

export const relu = (x: number[]): number[] => x.map((v) => Math.max(0, v));

/** erf by W. J. Cody's rational approximations as in Numerical Recipes' erfc (|error| < 1.2e-7). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** Exact GELU, x Phi(x). */
export const gelu = (x: number[]): number[] => x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Row i of a row-major [rows, cols] array. */
export function row(data: ArrayLike<number>, cols: number, i: number): number[] {
  return Array.from({ length: cols }, (_, c) => data[i * cols + c]!);
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
