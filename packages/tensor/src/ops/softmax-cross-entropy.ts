import { tf } from '../tf.js';
import { registerHostKernel } from './host-backends.js';
import { logSumExp } from './log-sum-exp.js';
import { heapModule, type WasmHeapBackend } from './simd/heap-module.js';
import { WASM_BASE64 } from './simd/softmax-cross-entropy.wasm.js';

/**
 * tfjs kernel names of {@link softmaxCrossEntropy}'s kernels. On cpu JS loops; on wasm a
 * WebAssembly SIMD module (`simd/softmax-cross-entropy.wat`: f32x4 max and sums, a polynomial exp)
 * in place on the heap: with the SIMD score sum a few ms CPU faster per forward + backward than the
 * composite at MME-SID's micro-batch 16 score head, [93, 12,088] (the JS loops there were slower:
 * `@mmesid/fusion`'s `bench/score-head-ab.ts`).
 */
export const SOFTMAX_CROSS_ENTROPY = 'MmesidSoftmaxCrossEntropy';
export const SOFTMAX_CROSS_ENTROPY_GRAD = 'MmesidSoftmaxCrossEntropyGrad';

/**
 * Per row r of x [n, C]: lse_r = m + log(sum_i exp(x_ri - m)) with m the row maximum (float64
 * sums), loss_r = lse_r - x_{r, t_r}, and the softmax minus the target's one-hot,
 * g_ri = exp(x_ri - lse_r) - [i = t_r] (the gradient per unit of loss_r, kept for the backward
 * pass so that it does not evaluate exp again).
 */
function forward(
  x: ArrayLike<number>,
  targets: ArrayLike<number>,
  cols: number,
  loss: Float32Array,
  g: Float32Array,
): void {
  for (let r = 0; r < loss.length; r++) {
    const o = r * cols;
    let m = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < cols; i++) if (x[o + i]! > m) m = x[o + i]!;
    let s = 0;
    for (let i = 0; i < cols; i++) {
      const e = Math.exp(x[o + i]! - m);
      g[o + i] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let i = 0; i < cols; i++) g[o + i] = g[o + i]! * inv;
    const t = o + targets[r]!;
    g[t] = g[t]! - 1;
    loss[r] = m + Math.log(s) - x[t]!;
  }
}

/** dx_ri = dy_r g_ri. */
function backward(dy: ArrayLike<number>, g: ArrayLike<number>, cols: number, dx: Float32Array): void {
  for (let r = 0; r < dy.length; r++) {
    const o = r * cols;
    const d = dy[r]!;
    for (let i = 0; i < cols; i++) dx[o + i] = d * g[o + i]!;
  }
}

/** The exports of simd/softmax-cross-entropy.wat (offsets into the heap; see there). */
interface SimdExports {
  forward(x: number, rows: number, n: number, g: number, stats: number): void;
  backward(dy: number, g: number, rows: number, n: number, dx: number): void;
}

/** The SIMD module on this backend's heap, or null (then the JS loops run on the heap). */
export function softmaxCrossEntropySimd(backend: unknown): SimdExports | null {
  return heapModule<SimdExports>(backend, WASM_BASE64);
}

/**
 * The forward on tfjs-backend-wasm: the SIMD module writes each row's softmax into g and its
 * maximum and exp-sum (float64) into scratch; the rows' losses and g's one-hot are finished here.
 */
function wasmForward(b: WasmHeapBackend, logits: tf.TensorInfo, targets: tf.TensorInfo): tf.TensorInfo[] {
  const [n, C] = logits.shape as [number, number];
  // Both outputs before any view: allocating may grow the heap.
  const loss = b.makeOutput([n], 'float32');
  const g = b.makeOutput([n, C], 'float32');
  const simd = softmaxCrossEntropySimd(b);
  if (n * C === 0 || !simd) {
    forward(
      b.typedArrayFromHeap(logits),
      b.typedArrayFromHeap(targets),
      C,
      b.typedArrayFromHeap(loss) as Float32Array,
      b.typedArrayFromHeap(g) as Float32Array,
    );
    return [loss, g];
  }
  const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const ptr = b.wasm._malloc(16 * n);
  try {
    simd.forward(off(logits), n, C, off(g), ptr);
    const buf = b.wasm.asm.memory!.buffer;
    const stats = new Float64Array(buf, ptr, 2 * n);
    const x = new Float32Array(buf, off(logits), n * C);
    const t = new Int32Array(buf, off(targets), n);
    const gv = new Float32Array(buf, off(g), n * C);
    const lv = new Float32Array(buf, off(loss), n);
    for (let r = 0; r < n; r++) {
      const at = r * C + t[r]!;
      lv[r] = stats[2 * r]! + Math.log(stats[2 * r + 1]!) - x[at]!;
      gv[at] = gv[at]! - 1;
    }
  } finally {
    b.wasm._free(ptr);
  }
  return [loss, g];
}

/** The gradient kernel on tfjs-backend-wasm: dx = dy_r g (inputs dy [n], g [n, C]). */
function wasmBackward(b: WasmHeapBackend, dy: tf.TensorInfo, g: tf.TensorInfo): tf.TensorInfo {
  const [n, C] = g.shape as [number, number];
  const dx = b.makeOutput([n, C], 'float32');
  const simd = softmaxCrossEntropySimd(b);
  if (n * C === 0) return dx;
  if (!simd)
    backward(b.typedArrayFromHeap(dy), b.typedArrayFromHeap(g), C, b.typedArrayFromHeap(dx) as Float32Array);
  else {
    const off = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
    simd.backward(off(dy), off(g), n, C, off(dx));
  }
  return dx;
}

/**
 * Registers the kernels (and the gradient) for `backends` (default cpu and wasm, see {@link
 * SOFTMAX_CROSS_ENTROPY}); each only once. On cpu they are JS loops; on wasm the WebAssembly SIMD
 * module of `simd/softmax-cross-entropy.wat` (exp by a polynomial, four lanes at a time), in place
 * on the heap (the JS loops where that module cannot run).
 */
export function registerSoftmaxCrossEntropy(backends: ReadonlyArray<'cpu' | 'wasm'> = ['cpu', 'wasm']): void {
  registerHostKernel(
    SOFTMAX_CROSS_ENTROPY,
    {
      outputs: ({ logits }) => [
        { shape: [logits!.shape[0]!], dtype: 'float32' },
        { shape: [...logits!.shape], dtype: 'float32' },
      ],
      run: ({ logits, targets }, { logits: li }, _attrs, [loss, g]) =>
        forward(logits!, targets!, li!.shape[1]!, loss as Float32Array, g as Float32Array),
    },
    {
      backends: backends.filter((x) => x === 'cpu'),
      gradient: {
        kernel: SOFTMAX_CROSS_ENTROPY_GRAD,
        inputs: [],
        outputs: { 1: 'g' },
        of: ['logits'],
        grad: {
          outputs: ({ g }) => [{ shape: [...g!.shape], dtype: 'float32' }],
          run: ({ dy, g }, { g: gi }, _attrs, [dx]) => backward(dy!, g!, gi!.shape[1]!, dx as Float32Array),
        },
      },
    },
  );
  if (!backends.includes('wasm')) return;
  if (!tf.getKernel(SOFTMAX_CROSS_ENTROPY, 'wasm'))
    tf.registerKernel({
      kernelName: SOFTMAX_CROSS_ENTROPY,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) =>
        wasmForward(
          backend as WasmHeapBackend,
          inputs.logits as tf.TensorInfo,
          inputs.targets as tf.TensorInfo,
        ),
    });
  if (!tf.getKernel(SOFTMAX_CROSS_ENTROPY_GRAD, 'wasm'))
    tf.registerKernel({
      kernelName: SOFTMAX_CROSS_ENTROPY_GRAD,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend }) =>
        wasmBackward(backend as WasmHeapBackend, inputs.dy as tf.TensorInfo, inputs.g as tf.TensorInfo),
    });
}

/** The composite form of {@link softmaxCrossEntropy}: `logSumExp` over the row minus the gathered target logit. */
export function softmaxCrossEntropyComposite(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const cols = logits.shape[1];
    const at = tf.add(tf.mul(tf.range(0, logits.shape[0], 1, 'int32'), tf.scalar(cols, 'int32')), targets);
    const pos = tf.gather(tf.reshape(logits, [-1]), at);
    return tf.sub(logSumExp(logits, 1), pos) as tf.Tensor1D;
  });
}

/**
 * Softmax cross-entropy of each row of float32 logits [n, C] against its target class:
 * loss_r = log(sum_i exp(x_ri)) - x_{r, t_r} (shifted by the row maximum), [n]. One kernel forward
 * (which also writes softmax(x_r) - onehot(t_r), [n, C], for the backward pass) and one backward
 * (dy_r times it) on cpu and wasm (WebAssembly SIMD there, exp by a polynomial of 1-2 ulp),
 * sums in float64; elsewhere the composite (`logSumExp` minus a gather). Equal to the composite up
 * to float32 rounding. Differentiable in the logits.
 *
 * @param targets int32 class of each row, in 0..C-1 (an array or an int32 tensor [n])
 * @returns the per-row losses [n], a new tensor the caller owns
 * @example
 * const loss = tf.mean(softmaxCrossEntropy(scores, [3, 0, 7]));
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D | readonly number[] | Int32Array,
): tf.Tensor1D {
  if (logits.rank !== 2 || logits.dtype !== 'float32')
    throw new RangeError(
      `softmaxCrossEntropy: expected float32 logits [n, C], got ${logits.dtype} [${logits.shape}]`,
    );
  const [n, C] = logits.shape;
  const given = targets instanceof tf.Tensor;
  if (given && (targets.rank !== 1 || targets.dtype !== 'int32'))
    throw new RangeError(
      `softmaxCrossEntropy: targets must be int32 [n], got ${targets.dtype} [${targets.shape}]`,
    );
  const t = given ? targets : tf.tensor1d(Int32Array.from(targets as ArrayLike<number>), 'int32');
  try {
    if (t.shape[0] !== n)
      throw new RangeError(`softmaxCrossEntropy: ${t.shape[0]} targets for ${n} rows of logits`);
    // The kernel reads x[r, t_r] unchecked: a target outside the row must not reach it.
    const v = given ? t.dataSync() : (targets as ArrayLike<number>);
    for (let r = 0; r < n; r++)
      if (!(Number.isInteger(v[r]) && v[r]! >= 0 && v[r]! < C))
        throw new RangeError(`softmaxCrossEntropy: target ${v[r]} of row ${r} outside 0..${C - 1}`);
    if (tf.getKernel(SOFTMAX_CROSS_ENTROPY, tf.getBackend())) {
      const [loss, g] = tf.engine().runKernel(SOFTMAX_CROSS_ENTROPY, { logits, targets: t }) as tf.Tensor[];
      g!.dispose(); // the tape keeps its own reference when a gradient is recorded
      return loss as tf.Tensor1D;
    }
    return softmaxCrossEntropyComposite(logits, t);
  } finally {
    if (!given) t.dispose();
  }
}
