import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';
import { heapModule, type WasmHeapBackend, writeOffsets } from './simd/heap-module.js';
import { WASM_BASE64 } from './simd/weighted-term-sum.wasm.js';

/**
 * tfjs kernel names of {@link weightedTermSum}'s kernels. On cpu JS loops; on wasm a WebAssembly
 * SIMD module (`simd/weighted-term-sum.wat`) in place on the heap. At MME-SID's micro-batch 16
 * score head ([93, 12,088] x 4 terms) one forward + backward of the sum and the mean CE costs on
 * WASM ~25-30 ms CPU with it against ~42-48 ms with the composite (JS loops there: 52 ms); on cpu
 * 238 ms against 1,347 ms (`@mmesid/fusion`'s `bench/score-head-ab.ts`).
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

/** The exports of simd/weighted-term-sum.wat (offsets into the heap; see there). */
interface SimdExports {
  columns(w: number, J: number, n: number, out: number): void;
  uncolumns(acc: number, J: number, n: number, dw: number): void;
  forward(terms: number, J: number, rows: number, n: number, cols: number, s: number): void;
  backward(
    terms: number,
    dts: number,
    J: number,
    rows: number,
    n: number,
    cols: number,
    dy: number,
    acc: number,
  ): void;
}

/** The SIMD module on this backend's heap, or null (then the JS loops run on the heap). */
export function weightedTermSumSimd(backend: unknown): SimdExports | null {
  return heapModule<SimdExports>(backend, WASM_BASE64);
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/**
 * Runs `body` with `bytes` of scratch from the heap's malloc (freed after). The heap may have grown:
 * views of it are taken inside `body`, from `memory`.
 */
function withScratch(
  b: WasmHeapBackend,
  bytes: number,
  body: (ptr: number, memory: WebAssembly.Memory) => void,
): void {
  const ptr = b.wasm._malloc(bytes);
  try {
    body(ptr, b.wasm.asm.memory!);
  } finally {
    b.wasm._free(ptr);
  }
}

/** The forward on tfjs-backend-wasm: the SIMD module in place on the heap (inputs [w, t_0, ..]). */
function wasmForward(b: WasmHeapBackend, inputs: tf.TensorInfo[]): tf.TensorInfo {
  const [w, ...terms] = inputs as [tf.TensorInfo, ...tf.TensorInfo[]];
  const [B, N] = terms[0]!.shape as [number, number];
  const J = terms.length;
  const out = b.makeOutput([B, N], 'float32');
  if (B * N === 0) return out;
  const simd = weightedTermSumSimd(b);
  if (!simd) {
    forward(
      b.typedArrayFromHeap(w),
      terms.map((t) => b.typedArrayFromHeap(t)),
      N,
      b.typedArrayFromHeap(out) as Float32Array,
    );
    return out;
  }
  const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const ptrs = align16(J * 4);
  withScratch(b, ptrs + J * N * 4, (p, memory) => {
    writeOffsets(memory, p, terms.map(off));
    simd.columns(off(w), J, N, p + ptrs);
    simd.forward(p, J, B, N, p + ptrs, off(out));
  });
  return out;
}

/** The gradient kernel on tfjs-backend-wasm (inputs [dy, w, t_0, ..], outputs [dw, dt_0, ..]). */
function wasmBackward(b: WasmHeapBackend, inputs: tf.TensorInfo[]): tf.TensorInfo[] {
  const [dy, w, ...terms] = inputs as [tf.TensorInfo, tf.TensorInfo, ...tf.TensorInfo[]];
  const [B, N] = terms[0]!.shape as [number, number];
  const J = terms.length;
  // Every output before any view: allocating may grow the heap.
  const dw = b.makeOutput([N, J], 'float32');
  const dts = terms.map(() => b.makeOutput([B, N], 'float32'));
  const simd = weightedTermSumSimd(b);
  if (B * N === 0 || !simd) {
    const dwv = b.typedArrayFromHeap(dw) as Float32Array;
    dwv.fill(0);
    const args = [dy, w, ...terms].map((t) => b.typedArrayFromHeap(t));
    backward(
      args[0]!,
      args[1]!,
      args.slice(2),
      N,
      dwv,
      dts.map((t) => b.typedArrayFromHeap(t) as Float32Array),
    );
    return [dw, ...dts];
  }
  const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const ptrs = align16(J * 4);
  withScratch(b, 2 * ptrs + 2 * J * N * 4, (p, memory) => {
    const cols = p + 2 * ptrs;
    const acc = cols + J * N * 4;
    writeOffsets(memory, p, terms.map(off));
    writeOffsets(memory, p + ptrs, dts.map(off));
    new Float32Array(memory.buffer, acc, J * N).fill(0);
    simd.columns(off(w), J, N, cols);
    simd.backward(p, p + ptrs, J, B, N, cols, off(dy), acc);
    simd.uncolumns(acc, J, N, off(dw));
  });
  return [dw, ...dts];
}

/** A kernel's inputs (named '0', '1', ..) in order. */
const inOrder = (inputs: tf.NamedTensorInfoMap) =>
  Object.keys(inputs)
    .map(Number)
    .sort((a, b) => a - b)
    .map((k) => inputs[k]!);

/**
 * Registers the kernels (and the gradient) for `backends` (default cpu and wasm, see {@link
 * WEIGHTED_TERM_SUM}); each only once. On cpu they are JS loops; on wasm the WebAssembly SIMD
 * module of `simd/weighted-term-sum.wat`, in place on the heap (the JS loops where that module
 * cannot run: no SIMD, or the threaded build's shared memory).
 */
export function registerWeightedTermSum(backends: ReadonlyArray<'cpu' | 'wasm'> = ['cpu', 'wasm']): void {
  const cpu = backends.filter((x) => x === 'cpu');
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
      backends: cpu,
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
    { backends: cpu },
  );
  if (!backends.includes('wasm')) return;
  if (!tf.getKernel(WEIGHTED_TERM_SUM, 'wasm'))
    tf.registerKernel({
      kernelName: WEIGHTED_TERM_SUM,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) => wasmForward(backend as WasmHeapBackend, inOrder(inputs)),
    });
  if (!tf.getKernel(WEIGHTED_TERM_SUM_GRAD, 'wasm'))
    tf.registerKernel({
      kernelName: WEIGHTED_TERM_SUM_GRAD,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) => wasmBackward(backend as WasmHeapBackend, inOrder(inputs)),
    });
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
 * backward (dw and every dt_j) on cpu and wasm (WebAssembly SIMD there), without the composite's
 * per-term Slice, Multiply and Add; the composite elsewhere. The forward has the composite's bits;
 * so do the gradients on wasm (dw summed in float32 in row order, as tfjs-wasm's Sum), on cpu they
 * equal it up to float32 rounding (dw summed in float64). Differentiable in the terms and w. The
 * caller owns the result.
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
