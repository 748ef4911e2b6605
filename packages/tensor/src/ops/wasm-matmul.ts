// A BatchMatMul / _FusedMatMul kernel for tfjs-backend-wasm (4.22) that always takes XNNPACK's
// fully-connected fast path.
//
// The backend's own kernel (batch_mat_mul_impl.cc) uses XNNPACK only when neither operand is
// transposed and both batch sizes are 1; every other product (every matMul gradient, attention's
// Q K^T, any batched product) runs a scalar loop at ~2.7 GFLOP/s, 10-40x slower. That loop also
// indexes a rank-1 fused bias by `min(i * N + j, N - 1)`, so every row after the first gets the
// last bias element. This kernel:
//   1. materialises a transposed operand first (the backend's Transpose kernel),
//   2. folds the batch of a shared right operand into rows ([batch*M, K] @ [K, N], one call),
//   3. otherwise calls the fast path once per output batch on zero-copy views of the WASM heap
//      (extra tensor ids registered over slices of the operands' memory, with broadcasting),
//   4. adds a rank-1 [N] bias inside XNNPACK and any other bias with the Add kernel, and applies
//      the fused activation exactly (relu/relu6 as XNNPACK's clamp; prelu, leakyrelu, sigmoid, elu
//      with the backend's own kernels, which the original kernel left out for the last three),
//   5. hands tiny unbatched-or-equal-batch products without a bias to the original kernel.
//   6. hands an unbatched one-row product against a transposed operand (x W^T) to the original
//      kernel, whose loop reads the operand in place: materialising the transpose costs far more.
// Bias-free float32 products (every matMul of training: the Linear kernels, attention, the MME-SID
// score head and its gradients) go instead to a WebAssembly SIMD GEMM (simd/gemm.wat) unless both
// K and N are >= 512: it reads a transposed a through strides, needs no XNNPACK operator or packed
// weights (XNNPACK repacks a new b on every call: every trained weight, every transposed copy, every
// batch view), and sums each element in k order like XNNPACK's kernels, so the same bits. The score
// head's dU = dS E^T ran at ~18-20 GFLOP/s through XNNPACK and ~35-38 through the GEMM; batched
// attention products at 2-3 against 9-21 (packages/tensor/bench/matmul-shapes.ts).

import type { NativeBlas } from '@mmesid/blas-native';
import { tf } from '../tf.js';
import { WASM_BASE64 as GEMM_BASE64 } from './simd/gemm.wasm.js';
import { heapModule } from './simd/heap-module.js';

interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

interface WasmTensorData {
  id: number;
  memoryOffset: number;
}

interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: unknown): WasmTensorData };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

// Must match FusableActivation in tfjs-backend-wasm's cc/fusable_activations.h.
const ACTIVATION_CODE: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

/** Products with fewer multiply-adds than this (per call) go to the original kernel, if it is exact for them. */
export const WASM_MATMUL_SMALL = 4096;

/**
 * The sgemm of the optional `@mmesid/blas-native` addon (OpenBLAS), when it is in use. Its
 * signature is declared once, in the addon's `index.d.ts`; this module is internal, so the type
 * never reaches `@mmesid/tensor`'s published declarations.
 */
export type NativeSgemm = Pick<NativeBlas, 'sgemm'>;

let native: NativeSgemm | null = null;

/**
 * Routes the WASM matmul kernels through a native sgemm (OpenBLAS via `@mmesid/blas-native`,
 * working in place on the WASM heap) instead of XNNPACK, or back (`null`). `initBackend({
 * nativeBlas: true })` calls this when the addon is built.
 */
export function useNativeSgemm(blas: NativeSgemm | null): void {
  native = blas;
}

/** The operands of one (batched) product, as the kernel received them. */
interface ProductOperands {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
}
/** Its sizes: op(a) [M, K], op(b) [K, N]; nA / nB batches of each, broadcast to `outBatch`. */
interface ProductDims {
  M: number;
  K: number;
  N: number;
  nA: number;
  nB: number;
  outBatch: number[];
  modulo: boolean;
}

/** out[o] = op(a[o % nA]) op(b[o % nB]) per output batch, straight on the heap with the native sgemm. */
function nativeProduct(
  backend: WasmBackend,
  blas: NativeSgemm,
  c: ProductOperands,
  dims: ProductDims,
): tf.TensorInfo {
  const { M, K, N, nA, nB, outBatch } = dims;
  const out = backend.makeOutput([...outBatch, M, N], 'float32');
  const nOut = sizeOf(outBatch);
  if (nOut === 0 || M === 0 || N === 0) return out;
  const buf = backend.wasm.HEAPU8.buffer; // after makeOutput, which may grow the heap
  const aOff = backend.dataIdMap.get(c.a.dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(c.b.dataId).memoryOffset;
  const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  const heapA = new Float32Array(buf, aOff, nA * M * K);
  const heapB = new Float32Array(buf, bOff, nB * K * N);
  const heapO = new Float32Array(buf, oOff, nOut * M * N);
  if (K === 0) {
    heapO.fill(0);
    return out;
  }
  const lda = c.transposeA ? M : K;
  const ldb = c.transposeB ? K : N;
  if (nB === 1 && nA === nOut && !c.transposeA) {
    // A shared right operand: all of a's batches are rows of one product.
    blas.sgemm(false, c.transposeB, nA * M, N, K, 1, heapA, K, heapB, ldb, 0, heapO, N);
    return out;
  }
  const idx = batchIndexer(c.a.shape.slice(0, -2), c.b.shape.slice(0, -2), outBatch, dims.modulo);
  for (let o = 0; o < nOut; o++) {
    const [ia, ib] = idx(o);
    blas.sgemm(
      c.transposeA,
      c.transposeB,
      M,
      N,
      K,
      1,
      heapA.subarray(ia * M * K, (ia + 1) * M * K),
      lda,
      heapB.subarray(ib * K * N, (ib + 1) * K * N),
      ldb,
      0,
      heapO.subarray(o * M * N, (o + 1) * M * N),
      N,
    );
  }
  return out;
}

/** Maps an output batch index to a's and b's batch indices (numpy broadcasting, or o % n). */
function batchIndexer(
  batchA: number[],
  batchB: number[],
  outBatch: number[],
  modulo: boolean,
): (o: number) => [number, number] {
  const nA = sizeOf(batchA);
  const nB = sizeOf(batchB);
  if (modulo) return (o) => [o % nA, o % nB];
  const rank = outBatch.length;
  const padA = [...new Array(rank - batchA.length).fill(1), ...batchA];
  const padB = [...new Array(rank - batchB.length).fill(1), ...batchB];
  const strideA = new Array<number>(rank).fill(0);
  const strideB = new Array<number>(rank).fill(0);
  for (let i = rank - 1, sa = 1, sb = 1; i >= 0; i--) {
    strideA[i] = padA[i] === 1 ? 0 : sa;
    strideB[i] = padB[i] === 1 ? 0 : sb;
    sa *= padA[i]!;
    sb *= padB[i]!;
  }
  return (o) => {
    let ia = 0;
    let ib = 0;
    for (let i = rank - 1, rest = o; i >= 0; i--) {
      const d = rest % outBatch[i]!;
      rest = Math.floor(rest / outBatch[i]!);
      ia += d * strideA[i]!;
      ib += d * strideB[i]!;
    }
    return [ia, ib];
  };
}

/** The exports of simd/gemm.wat (see there): C (+)= A B with byte offsets and byte strides. */
interface GemmExports {
  gemm(
    a: number,
    sai: number,
    sak: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    m: number,
    n: number,
    k: number,
    acc: number,
  ): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
}

/** Which kernel takes the float32 products without bias or activation: the rule below, or one of them always (benchmarks, tests). */
export type WasmMatMulRoute = 'auto' | 'xnnpack' | 'simd';
let route: WasmMatMulRoute = 'auto';

/** Sets {@link WasmMatMulRoute} (internal: for benchmarks and tests); returns the previous one. */
export function setWasmMatMulRoute(r: WasmMatMulRoute): WasmMatMulRoute {
  const prev = route;
  route = r;
  return prev;
}

/** The SIMD GEMM module on this backend's heap, or null (no WebAssembly SIMD, shared memory). */
export function wasmGemm(backend: unknown): GemmExports | null {
  return heapModule<GemmExports>(backend, GEMM_BASE64);
}

/** k and m block sizes of the SIMD GEMM's outer loops (an A block of MC x KC floats stays in L2). */
const KC = 256;
const MC_BYTES = 128 * 1024;

/** C[M, N] = A(M, K) B[K, N] in blocks of k (added in order, so the same bits as one block) and of rows. */
function gemmBlocked(
  g: GemmExports,
  a: number,
  sai: number,
  sak: number,
  b: number,
  ldb: number,
  c: number,
  ldc: number,
  M: number,
  N: number,
  K: number,
): void {
  if (K === 0) {
    g.gemm(a, sai, sak, b, ldb, c, ldc, M, N, 0, 0);
    return;
  }
  const MC = Math.max(16, Math.floor(MC_BYTES / (4 * Math.min(K, KC))));
  for (let p = 0; p < K; p += KC)
    for (let i = 0; i < M; i += MC)
      g.gemm(
        a + i * sai + p * sak,
        sai,
        sak,
        b + p * ldb,
        ldb,
        c + i * ldc,
        ldc,
        Math.min(MC, M - i),
        N,
        Math.min(KC, K - p),
        p > 0 ? 1 : 0,
      );
}

/**
 * out[o] = op(a[o % nA]) op(b[o % nB]) per output batch with the SIMD GEMM, in place on the heap:
 * a transposed a is read through its strides, a transposed b is materialised once (the module's
 * transpose into a temporary backend buffer).
 */
function simdProduct(
  backend: WasmBackend,
  g: GemmExports,
  c: ProductOperands,
  dims: ProductDims,
): tf.TensorInfo {
  const { M, K, N, nA, nB, outBatch } = dims;
  const out = backend.makeOutput([...outBatch, M, N], 'float32');
  const nOut = sizeOf(outBatch);
  if (nOut === 0 || M === 0 || N === 0) return out;
  // A transposed b [..., N, K] becomes [..., K, N] with the module's own transpose (a tfjs
  // Transpose kernel costs ~0.1 ms per call on small weights, ~1.7 ms on a [64, 12,087] table).
  const b2 = c.transposeB ? backend.makeOutput([...c.b.shape.slice(0, -2), K, N], 'float32') : c.b;
  try {
    // Offsets only after every allocation (makeOutput may grow the heap; offsets stay valid).
    const aOff = backend.dataIdMap.get(c.a.dataId).memoryOffset;
    const bOff = backend.dataIdMap.get(b2.dataId).memoryOffset;
    const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
    if (c.transposeB) {
      const src = backend.dataIdMap.get(c.b.dataId).memoryOffset;
      for (let ib = 0; ib < nB; ib++) g.transpose(src + 4 * ib * N * K, N, K, bOff + 4 * ib * K * N);
    }
    const sai = c.transposeA ? 4 : 4 * K;
    const sak = c.transposeA ? 4 * M : 4;
    if (nB === 1 && nA === nOut && !c.transposeA) {
      // A shared right operand: all of a's batches are rows of one product.
      gemmBlocked(g, aOff, sai, sak, bOff, 4 * N, oOff, 4 * N, nA * M, N, K);
      return out;
    }
    const idx = batchIndexer(c.a.shape.slice(0, -2), b2.shape.slice(0, -2), outBatch, dims.modulo);
    for (let o = 0; o < nOut; o++) {
      const [ia, ib] = idx(o);
      gemmBlocked(
        g,
        aOff + 4 * ia * M * K,
        sai,
        sak,
        bOff + 4 * ib * K * N,
        4 * N,
        oOff + 4 * o * M * N,
        4 * N,
        M,
        N,
        K,
      );
    }
    return out;
  } finally {
    if (b2 !== c.b) backend.disposeData(b2.dataId);
  }
}

/** Whether the SIMD GEMM takes this product (float32, no bias or activation, not both transposed). */
function simdWillDo(c: MatMulCall, K: number, N: number): boolean {
  if (route === 'xnnpack') return false;
  if (c.bias || c.preluActivationWeights || (c.activation ?? 'linear') !== 'linear') return false;
  if (c.transposeA && c.transposeB) return false;
  if (route === 'simd') return true;
  // Large products in both K and N: XNNPACK's packed weight panels beat the GEMM's strided reads of
  // B there (1024^2: ~38 against ~30 GFLOP/s, bench/matmul-shapes.ts); everywhere else the GEMM is
  // as fast or faster, and it never packs weights, transposes a, or creates an operator per call.
  return !(K >= 512 && N >= 512);
}

let fused: ((...args: unknown[]) => void) | null = null;
let fusedFor: WasmModule | null = null;
let originalBatchMatMul: tf.KernelConfig | null = null;
let originalFused: tf.KernelConfig | null = null;

function wasmFused(backend: WasmBackend): (...args: unknown[]) => void {
  if (fused === null || fusedFor !== backend.wasm) {
    fused = backend.wasm.cwrap('_FusedMatMul', null, [
      'number', // a_id
      'array', // a_shape
      'number', // a_shape.length
      'number', // b_id
      'array', // b_shape
      'number', // b_shape.length
      'number', // transpose_a
      'number', // transpose_b
      'number', // activation
      'number', // bias_id
      'number', // prelu_weights_id
      'number', // leakyrelu_alpha
      'number', // out_id
    ]);
    fusedFor = backend.wasm;
  }
  return fused;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

function runKernel(name: string, args: KernelArgs): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return k.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

function swapLast(x: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  perm[n - 1] = n - 2;
  perm[n - 2] = n - 1;
  return runKernel('Transpose', { inputs: { x }, backend, attrs: { perm } });
}

/** Registers `size` float32 elements at byte `offset` under a fresh tensor id (no copy). */
function view(backend: WasmBackend, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

/**
 * The product of a [...batchA, M, K] and b [...batchB, K, N] (already untransposed, contiguous)
 * into a new [...outBatch, M, N] output, through XNNPACK, with an optional rank-1 bias id and a
 * clamp activation applied inside it.
 */
function plainProduct(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  outBatch: number[],
  biasId: number,
  activation: number,
  modulo: boolean,
): tf.TensorInfo {
  const M = a.shape[a.shape.length - 2]!;
  const K = a.shape[a.shape.length - 1]!;
  const N = b.shape[b.shape.length - 1]!;
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = sizeOf(batchA);
  const nB = sizeOf(batchB);
  const nOut = sizeOf(outBatch);
  const out = backend.makeOutput([...outBatch, M, N], 'float32');
  if (nOut === 0 || M === 0 || N === 0) return out;
  const call = wasmFused(backend);
  const aData = backend.dataIdMap.get(a.dataId);
  const bData = backend.dataIdMap.get(b.dataId);
  const outData = backend.dataIdMap.get(out.dataId);
  const bShape = shapeBytes([1, K, N]);
  if (nB === 1 && nA === nOut) {
    // One right operand for every batch: the batches of a are just more rows.
    call(
      aData.id,
      shapeBytes([1, nA * M, K]),
      3,
      bData.id,
      bShape,
      3,
      0,
      0,
      activation,
      biasId,
      0,
      0,
      outData.id,
    );
    return out;
  }
  const aShape = shapeBytes([1, M, K]);
  const idx = batchIndexer(batchA, batchB, outBatch, modulo);
  for (let o = 0; o < nOut; o++) {
    const [ia, ib] = idx(o);
    const av = view(backend, aData.memoryOffset + ia * M * K * 4, M * K);
    const bv = view(backend, bData.memoryOffset + ib * K * N * 4, K * N);
    const ov = view(backend, outData.memoryOffset + o * M * N * 4, M * N);
    try {
      call(av, aShape, 3, bv, bShape, 3, 0, 0, activation, biasId, 0, 0, ov);
    } finally {
      // Drops the ids (and the XNNPACK operator packed for bv); the memory stays with its owners.
      backend.wasm.tfjs.disposeData(av);
      backend.wasm.tfjs.disposeData(bv);
      backend.wasm.tfjs.disposeData(ov);
    }
  }
  return out;
}

interface MatMulCall {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
  bias?: tf.TensorInfo | undefined;
  activation?: string;
  preluActivationWeights?: tf.TensorInfo | undefined;
  leakyreluAlpha?: number;
}

function matMulFast(backend: WasmBackend, c: MatMulCall): tf.TensorInfo {
  const { a, b, transposeA, transposeB } = c;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kB = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== kB)
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const nA = sizeOf(batchA);
  const nB = sizeOf(batchB);
  // tfjs-core's matMul flattens the batch dims before calling the kernel ([2, 3] and [3] arrive as
  // [6] and [3]); like the cpu kernel, pair output batch o with a's o % nA and b's o % nB then.
  const modulo =
    batchA.length === 1 &&
    batchB.length === 1 &&
    nA !== nB &&
    nA > 1 &&
    nB > 1 &&
    Math.max(nA, nB) % Math.min(nA, nB) === 0;
  const outBatch = modulo ? [Math.max(nA, nB)] : tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
  const activation = c.activation ?? 'linear';
  const bias = c.bias;
  // A bias of N values along the last axis goes into XNNPACK; anything else is added afterwards.
  const biasFits =
    !!bias && bias.shape.length >= 1 && sizeOf(bias.shape) === N && bias.shape[bias.shape.length - 1] === N;
  const blas = native;
  // The native sgemm takes the transposes itself and has no epilogue: bias and activation follow.
  const biasInline = !blas && biasFits;
  const clampInline = !blas && activation in ACTIVATION_CODE && (!bias || biasInline);
  const temps: tf.TensorInfo[] = [];
  try {
    let out: tf.TensorInfo;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const gemm = blas ? null : wasmGemm(backend);
    if (blas) {
      out = nativeProduct(backend, blas, c, { M, K, N, nA, nB, outBatch, modulo });
    } else if (gemm && simdWillDo(c, K, N)) {
      out = simdProduct(backend, gemm, c, { M, K, N, nA, nB, outBatch, modulo });
    } else {
      const a2 = transposeA ? swapLast(a, backend) : a;
      if (a2 !== a) temps.push(a2);
      const b2 = transposeB ? swapLast(b, backend) : b;
      if (b2 !== b) temps.push(b2);
      out = plainProduct(
        backend,
        a2,
        b2,
        outBatch,
        biasInline ? backend.dataIdMap.get(bias!.dataId).id : 0,
        clampInline ? ACTIVATION_CODE[activation]! : 0,
        modulo,
      );
    }
    const step = (next: tf.TensorInfo) => {
      temps.push(out);
      out = next;
    };
    if (bias && !biasInline) step(runKernel('Add', { inputs: { a: out, b: bias }, backend }));
    if (!clampInline) {
      switch (activation) {
        case 'linear':
          break;
        case 'relu':
          step(runKernel('Relu', { inputs: { x: out }, backend }));
          break;
        case 'relu6':
          step(runKernel('Relu6', { inputs: { x: out }, backend }));
          break;
        case 'prelu':
          step(runKernel('Prelu', { inputs: { x: out, alpha: c.preluActivationWeights! }, backend }));
          break;
        case 'leakyrelu':
          step(
            runKernel('LeakyRelu', {
              inputs: { x: out },
              backend,
              attrs: { alpha: c.leakyreluAlpha ?? 0.2 },
            }),
          );
          break;
        case 'sigmoid':
          step(runKernel('Sigmoid', { inputs: { x: out }, backend }));
          break;
        case 'elu':
          step(runKernel('Elu', { inputs: { x: out }, backend }));
          break;
        default:
          throw new Error(`_FusedMatMul: unknown activation "${activation}"`);
      }
    }
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Whether the original kernel is both exact and as fast for this product (tiny, no bias, no broadcast). */
function originalWillDo(c: MatMulCall, gemmReady: boolean): boolean {
  if (native || route === 'simd') return false;
  if (c.bias || c.preluActivationWeights || (c.activation ?? 'linear') !== 'linear') return false;
  const batchA = c.a.shape.slice(0, -2);
  const batchB = c.b.shape.slice(0, -2);
  const nA = sizeOf(batchA);
  if (nA !== sizeOf(batchB)) return false;
  const ra = c.a.shape.length;
  const rb = c.b.shape.length;
  const M = c.transposeA ? c.a.shape[ra - 1]! : c.a.shape[ra - 2]!;
  const K = c.transposeA ? c.a.shape[ra - 2]! : c.a.shape[ra - 1]!;
  const N = c.transposeB ? c.b.shape[rb - 2]! : c.b.shape[rb - 1]!;
  // Already XNNPACK, unless the SIMD GEMM takes it (it needs no packed weights per new b).
  if (nA === 1 && !c.transposeA && !c.transposeB) return !(gemmReady && simdWillDo(c, K, N));
  // One row against a transposed right operand (a decode step's Linear: x [1, K] W^T with W
  // [N, K]): the original loop reads W's rows in place, where the fast path would first copy all
  // of W into its transpose (~9 ns an element on WASM: 106 ms for a 2048 x 5632 weight, against
  // ~2 ms for the product itself).
  if (nA === 1 && M === 1 && !c.transposeA && c.transposeB) return true;
  return M * K * N * nA < WASM_MATMUL_SMALL;
}

function batchMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const call: MatMulCall = { a, b, transposeA, transposeB };
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || originalWillDo(call, wasmGemm(args.backend) !== null))
    return originalBatchMatMul!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return matMulFast(args.backend as WasmBackend, call);
}

function fusedMatMulKernel(args: KernelArgs): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const attrs = args.attrs as unknown as {
    transposeA: boolean;
    transposeB: boolean;
    activation: string;
    leakyreluAlpha?: number;
  };
  if (a.dtype !== 'float32' || b.dtype !== 'float32')
    return originalFused!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  return matMulFast(args.backend as WasmBackend, {
    a,
    b,
    transposeA: attrs.transposeA,
    transposeB: attrs.transposeB,
    bias,
    activation: attrs.activation,
    preluActivationWeights,
    ...(attrs.leakyreluAlpha !== undefined ? { leakyreluAlpha: attrs.leakyreluAlpha } : {}),
  });
}

/**
 * Replaces tfjs-backend-wasm's `BatchMatMul` and `_FusedMatMul` kernels with ones that take
 * XNNPACK's fast path for transposed, batched and broadcast products and add a fused bias
 * correctly (see the top of this file). Called by `initBackend` before the WASM backend starts;
 * safe to call more than once. Returns false when the WASM backend's kernels are not registered.
 */
export function registerWasmMatMul(): boolean {
  const current = tf.getKernel('BatchMatMul', 'wasm');
  const currentFused = tf.getKernel('_FusedMatMul', 'wasm');
  if (!current || !currentFused) return false;
  if (current.kernelFunc === (batchMatMulKernel as unknown)) return true;
  originalBatchMatMul = current;
  originalFused = currentFused;
  const setup = (backend: object) => {
    // The original kernels keep their cwrapped functions in module state set up here.
    originalBatchMatMul!.setupFunc?.(backend);
    originalFused!.setupFunc?.(backend);
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.unregisterKernel('_FusedMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: setup,
    kernelFunc: batchMatMulKernel as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: '_FusedMatMul',
    backendName: 'wasm',
    kernelFunc: fusedMatMulKernel as unknown as tf.KernelFunc,
  });
  // Already running (the kernels were replaced after tf.setBackend('wasm')): set up now.
  const running = tf.getBackend() === 'wasm' ? tf.findBackend('wasm') : null;
  if (running) setup(running);
  return true;
}
