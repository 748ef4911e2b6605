import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';

/**
 * tfjs kernel names of {@link weightedTermSum}'s kernels. Registered for the cpu backend only: on
 * WASM these JS loops lose to the composite's SIMD Multiply/Add kernels (at MME-SID's micro-batch
 * 16 score head, [93, 12,087] x 4 terms: 45-61 ms CPU per forward + backward against 31-37 ms for
 * the composite; on cpu 238 ms against 1,347 ms).
 */
export const WEIGHTED_TERM_SUM = 'MmesidWeightedTermSum';
export const WEIGHTED_TERM_SUM_GRAD = 'MmesidWeightedTermSumGrad';

const f = Math.fround;

/** The columns of w [N, J] as J contiguous arrays (so each loop below streams plain arrays). */
function columns(w: ArrayLike<number>, J: number): Float32Array[] {
  const N = w.length / J;
  return Array.from({ length: J }, (_, j) => {
    const c = new Float32Array(N);
    for (let i = 0; i < N; i++) c[i] = w[i * J + j]!;
    return c;
  });
}

/**
 * s[b, i] = sum_j w[i, j] t_j[b, i], summed in term order with each product and partial sum
 * rounded to float32 (the composite's Multiply and Add kernels), so the same bits. One pass per
 * term over its rows.
 */
function forward(w: ArrayLike<number>, terms: ArrayLike<number>[], cols: number, s: Float32Array): void {
  const ws = columns(w, terms.length);
  const rows = s.length / cols;
  for (let j = 0; j < terms.length; j++) {
    const t = terms[j]!;
    const c = ws[j]!;
    for (let b = 0; b < rows; b++) {
      const o = b * cols;
      if (j === 0) for (let i = 0; i < cols; i++) s[o + i] = t[o + i]! * c[i]!;
      else for (let i = 0; i < cols; i++) s[o + i] = s[o + i]! + f(t[o + i]! * c[i]!);
    }
  }
}

/** dt_j[b, i] = dy[b, i] w[i, j] (the composite's bits); dw[i, j] = sum_b dy[b, i] t_j[b, i] (float64 sums). */
function backward(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  terms: ArrayLike<number>[],
  cols: number,
  dw: Float32Array,
  dts: Float32Array[],
): void {
  const J = terms.length;
  const ws = columns(w, J);
  const rows = dy.length / cols;
  const acc = new Float64Array(cols);
  for (let j = 0; j < J; j++) {
    const t = terms[j]!;
    const c = ws[j]!;
    const dt = dts[j]!;
    acc.fill(0);
    for (let b = 0; b < rows; b++) {
      const o = b * cols;
      for (let i = 0; i < cols; i++) {
        const g = dy[o + i]!;
        dt[o + i] = g * c[i]!;
        acc[i]! += g * t[o + i]!;
      }
    }
    for (let i = 0; i < cols; i++) dw[i * J + j] = acc[i]!;
  }
}

/** The inputs of both kernels are a list: [w, t_0, .., t_{J-1}] (forward), [dy, w, t_0, ..] (gradient). */
const listed = (values: Record<string, ArrayLike<number>>, from: number) =>
  Object.keys(values)
    .map(Number)
    .sort((a, b) => a - b)
    .slice(from)
    .map((k) => values[k]!);

/** Registers the kernels (and the gradient) for the cpu backend (see {@link WEIGHTED_TERM_SUM}); each only once. */
export function registerWeightedTermSum(backends: ReadonlyArray<'cpu' | 'wasm'> = ['cpu']): void {
  registerHostKernel(
    WEIGHTED_TERM_SUM,
    {
      outputs: (inputs) => [{ shape: [...inputs[1]!.shape], dtype: 'float32' }],
      run: (values, inputs, _attrs, [s]) => {
        const [w, ...terms] = listed(values, 0);
        forward(w!, terms, inputs[1]!.shape[1]!, s as Float32Array);
      },
    },
    {
      backends,
      gradient: {
        saveAllInputs: true,
        gradFunc: (dy, saved) => {
          const grads = tf
            .engine()
            .runKernel(WEIGHTED_TERM_SUM_GRAD, [
              dy as tf.Tensor,
              ...saved,
            ] as unknown as tf.NamedTensorMap) as tf.Tensor[];
          return Object.fromEntries(grads.map((g, k) => [k, () => g]));
        },
      },
    },
  );
  registerHostKernel(
    WEIGHTED_TERM_SUM_GRAD,
    {
      outputs: (inputs) =>
        Object.keys(inputs)
          .slice(1)
          .map((k) => ({ shape: [...inputs[k]!.shape], dtype: 'float32' as const })),
      run: (values, inputs, _attrs, [dw, ...dts]) => {
        const [dy, w, ...terms] = listed(values, 0);
        backward(dy!, w!, terms, inputs[0]!.shape[1]!, dw as Float32Array, dts as Float32Array[]);
      },
    },
    { backends },
  );
}

/**
 * The composite form of {@link weightedTermSum}: per term a Slice of w's column, a Multiply and an
 * Add, with tfjs's gradients. (A variant with the gradient written out, dw_j = 1^T (dy t_j) as a
 * product instead of tfjs's Sum over the rows axis and Pad, measured no faster on WASM:
 * `@mmesid/fusion`'s `bench/score-head-ab.ts`.)
 */
export function weightedTermSumComposite(terms: readonly tf.Tensor2D[], w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let s: tf.Tensor | null = null;
    terms.forEach((t, j) => {
      const wj = tf.reshape(tf.slice(w, [0, j], [-1, 1]), [1, -1]);
      const term = tf.mul(t, wj);
      s = s ? tf.add(s, term) : term;
    });
    return s! as tf.Tensor2D;
  });
}

/**
 * The per-column weighted sum of J score terms: s[b, i] = sum_j w[i, j] t_j[b, i] for float32
 * terms t_j [B, N] and weights w [N, J] (each column i of the scores mixes the terms with its own
 * weights, e.g. MME-SID's frequency-fusion head over all items). One kernel forward and one
 * backward (dw and every dt_j) on cpu, without the composite's per-term Slice, Multiply
 * and Add (see {@link WEIGHTED_TERM_SUM} for why not on wasm); the composite elsewhere. The forward has the composite's bits; the gradients equal it up
 * to float32 rounding (dw summed in float64). Differentiable in the terms and w. The caller owns
 * the result.
 */
export function weightedTermSum(terms: readonly tf.Tensor2D[], w: tf.Tensor2D): tf.Tensor2D {
  const [B, N] = (terms[0]?.shape ?? []) as number[];
  const ok =
    terms.length >= 1 &&
    w.rank === 2 &&
    w.shape[0] === N &&
    w.shape[1] === terms.length &&
    w.dtype === 'float32' &&
    terms.every((t) => t.rank === 2 && t.shape[0] === B && t.shape[1] === N && t.dtype === 'float32');
  if (!ok)
    throw new RangeError(
      `weightedTermSum: expected float32 terms [B, N] (all one shape) and w [N, terms], got terms ${terms.map((t) => `${t.dtype} [${t.shape}]`).join(', ')} and w ${w.dtype} [${w.shape}]`,
    );
  if (tf.getKernel(WEIGHTED_TERM_SUM, tf.getBackend()))
    return tf
      .engine()
      .runKernel(WEIGHTED_TERM_SUM, [w, ...terms] as unknown as tf.NamedTensorMap) as tf.Tensor2D;
  return weightedTermSumComposite(terms, w);
}
