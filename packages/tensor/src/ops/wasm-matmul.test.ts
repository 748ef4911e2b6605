import { loadNativeBlas } from '@mmesid/blas-native';
import { Rng } from '@mmesid/core';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.js';
import { setWasmMatMulRoute, useNativeSgemm, wasmGemm } from './wasm-matmul.js';

// The products are checked against a float64 triple loop in plain JS (independent of every
// backend), on each backend the harness runs; on wasm they go through the kernel override of
// wasm-matmul.ts, which is what these tests are for.

function randn(rng: Rng, shape: number[]): { t: tf.Tensor; v: Float64Array; shape: number[] } {
  const size = shape.reduce((p, d) => p * d, 1);
  const v = new Float64Array(size);
  for (let i = 0; i < size; i++) v[i] = Math.fround(rng.uniform(-1, 1));
  return { t: tf.tensor(Float32Array.from(v), shape), v, shape };
}

/** Reference batched product with tfjs's broadcasting of the batch dims and transpose flags. */
function reference(
  a: { v: Float64Array; shape: number[] },
  b: { v: Float64Array; shape: number[] },
  tA: boolean,
  tB: boolean,
): { v: Float64Array; shape: number[] } {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const nA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const nB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  // numpy's broadcast of the batch dims; flattened, a batch index is then o % nA and o % nB.
  const bA = a.shape.slice(0, -2);
  const bB = b.shape.slice(0, -2);
  const rank = Math.max(bA.length, bB.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = bA[bA.length - rank + i] ?? 1;
    const db = bB[bB.length - rank + i] ?? 1;
    batch.push(Math.max(da, db));
  }
  const nOut = batch.reduce((p, d) => p * d, 1);
  const out = new Float64Array(nOut * M * N);
  for (let o = 0; o < nOut; o++) {
    const ao = (o % nA) * M * K;
    const bo = (o % nB) * K * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.v[ao + (tA ? k * M + i : i * K + k)]!;
          const bv = b.v[bo + (tB ? j * K + k : k * N + j)]!;
          s += av * bv;
        }
        out[o * M * N + i * N + j] = s;
      }
  }
  return { v: out, shape: [...batch, M, N] };
}

function operandShape(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return transposed ? [...batch, cols, rows] : [...batch, rows, cols];
}

describeBackends('matMul kernels (the wasm override against a float64 reference)', ({ backend, tol }) => {
  const eps = backend === 'webgpu' ? 1e-3 : 1e-4;
  void tol;
  const flags: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  // [batchA, batchB, M, K, N]: plain, small (original kernel), batched, shared right operand
  // (folded into rows), shared left operand, a broadcast batch of rank 2.
  const cases: [number[], number[], number, number, number][] = [
    [[], [], 37, 29, 41],
    [[], [], 3, 5, 4],
    [[3], [3], 13, 24, 17],
    [[4], [], 9, 31, 12],
    [[], [5], 7, 16, 11],
    [[2, 3], [3], 6, 10, 8],
    [[1], [4], 20, 33, 1],
    // One row against a large operand (a decode step's Linear: with transposeB the original
    // kernel's loop, not a materialised transpose).
    [[], [], 1, 300, 700],
  ];
  for (const [bA, bB, M, K, N] of cases)
    for (const [tA, tB] of flags)
      it(`[${bA}]x${M}x${K} @ [${bB}]x${K}x${N}, transposeA=${tA}, transposeB=${tB}`, async () => {
        const rng = new Rng(`${bA}${bB}${M}${K}${N}${tA}${tB}`);
        const a = randn(rng, operandShape(bA, M, K, tA));
        const b = randn(rng, operandShape(bB, K, N, tB));
        const y = tf.matMul(a.t, b.t, tA, tB);
        const ref = reference(a, b, tA, tB);
        expect(y.shape).toEqual(ref.shape);
        expect(maxAbsDiff(await y.data(), ref.v)).toBeLessThan(eps);
        tf.dispose([a.t, b.t, y]);
      });

  it('gradients of a transposed batched product equal the reference products', async () => {
    const rng = new Rng(7);
    const a = randn(rng, [3, 12, 20]);
    const b = randn(rng, [3, 15, 20]);
    const dy = randn(rng, [3, 12, 15]);
    const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(tf.mul(tf.matMul(x, w, false, true), dy.t)),
    )([a.t, b.t]);
    // dA = dY B, dB = dY^T A.
    expect(maxAbsDiff(await ga!.data(), reference(dy, b, false, false).v)).toBeLessThan(eps);
    expect(maxAbsDiff(await gb!.data(), reference(dy, a, true, false).v)).toBeLessThan(eps);
    tf.dispose([a.t, b.t, dy.t, ga!, gb!]);
  });

  it('adds a fused bias to every row (the tfjs slow-path bug gives [33, 34, 37] for row 2)', async () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const bT = tf.tensor2d([
      [5, 3],
      [6, 4],
      [8, 7],
    ]);
    const bias = tf.tensor1d([10, 20, 30]);
    const y = tf.fused.matMul({ a, b: bT, transposeB: true, bias });
    expect(Array.from(await y.data())).toEqual([15, 26, 38, 13, 24, 37]);
    tf.dispose([a, bT, bias, y]);
  });

  const activations: [string, (x: number) => number][] = [
    ['linear', (x) => x],
    ['relu', (x) => Math.max(0, x)],
    ['relu6', (x) => Math.min(6, Math.max(0, x))],
    ['elu', (x) => (x >= 0 ? x : Math.exp(x) - 1)],
    ['sigmoid', (x) => 1 / (1 + Math.exp(-x))],
    ['leakyrelu', (x) => (x >= 0 ? x : 0.1 * x)],
    ['prelu', (x) => (x >= 0 ? x : 0.25 * x)],
  ];
  for (const [activation, f] of activations)
    for (const biasShape of [[13], [9, 13], null] as (number[] | null)[])
      it(`fused matMul with bias [${biasShape ?? 'none'}] and ${activation}, transposeA and batched`, async () => {
        const rng = new Rng(`${activation}${biasShape}`);
        const a = randn(rng, [2, 21, 9]);
        const b = randn(rng, [2, 21, 13]);
        const bias = biasShape ? randn(rng, biasShape) : null;
        const alpha = activation === 'prelu' ? tf.fill([13], 0.25) : undefined;
        const y = tf.fused.matMul({
          a: a.t as tf.Tensor3D,
          b: b.t as tf.Tensor3D,
          transposeA: true,
          ...(bias ? { bias: bias.t } : {}),
          activation: activation as 'linear',
          ...(alpha ? { preluActivationWeights: alpha } : {}),
          ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.1 } : {}),
        });
        const ref = reference(a, b, true, false);
        const want = ref.v.map((x, i) => {
          const n = i % 13;
          const m = Math.floor(i / 13) % 9;
          const bv = biasShape === null ? 0 : biasShape.length === 1 ? bias!.v[n]! : bias!.v[m * 13 + n]!;
          return f(x + bv);
        });
        expect(y.shape).toEqual([2, 9, 13]);
        expect(maxAbsDiff(await y.data(), want)).toBeLessThan(eps);
        tf.dispose([a.t, b.t, y, ...(bias ? [bias.t] : []), ...(alpha ? [alpha] : [])]);
      });

  if (backend === 'wasm')
    it('is the registered wasm kernel and leaves no backend buffers behind', async () => {
      expect(tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc.name).toBe('batchMatMulKernel');
      expect(tf.getKernel('_FusedMatMul', 'wasm')!.kernelFunc.name).toBe('fusedMatMulKernel');
      const rng = new Rng(3);
      const a = randn(rng, [4, 16, 24]);
      const b = randn(rng, [4, 16, 24]);
      const buffers = () => tf.backend().numDataIds();
      const before = buffers();
      for (let i = 0; i < 3; i++) tf.matMul(a.t, b.t, true, false).dispose();
      expect(buffers()).toBe(before);
      tf.dispose([a.t, b.t]);
    });
});

// The same products through the optional OpenBLAS addon (built by scripts/bootstrap.sh where gcc
// and libopenblas-dev exist), on wasm only: the kernel then calls sgemm in place on the heap.
const nativeBlas = loadNativeBlas();
if (!nativeBlas.ok) console.warn(`[wasm-matmul.test] skipping the native BLAS suite: ${nativeBlas.reason}`);
describeBackends(
  'matMul kernels through @mmesid/blas-native',
  ({ backend }) => {
    if (!nativeBlas.ok) {
      // A suite without tests fails in vitest: say why it is skipped instead.
      it.skip(`native BLAS addon not available: ${nativeBlas.reason}`, () => {});
      return;
    }
    beforeAll(() => useNativeSgemm(nativeBlas.blas));
    afterAll(() => useNativeSgemm(null));
    describe(nativeBlas.blas.config(), () => {
      const cases: [number[], number[], number, number, number][] = [
        [[], [], 37, 29, 41],
        [[3], [3], 13, 24, 17],
        [[4], [], 9, 31, 12],
        [[], [5], 7, 16, 11],
        [[2, 3], [3], 6, 10, 8],
      ];
      for (const [bA, bB, M, K, N] of cases)
        for (const [tA, tB] of [
          [false, false],
          [false, true],
          [true, false],
          [true, true],
        ] as [boolean, boolean][])
          it(`[${bA}]x${M}x${K} @ [${bB}]x${K}x${N}, transposeA=${tA}, transposeB=${tB}`, async () => {
            const rng = new Rng(`native${bA}${bB}${M}${K}${N}${tA}${tB}`);
            const a = randn(rng, operandShape(bA, M, K, tA));
            const b = randn(rng, operandShape(bB, K, N, tB));
            const y = tf.matMul(a.t, b.t, tA, tB);
            const ref = reference(a, b, tA, tB);
            expect(y.shape).toEqual(ref.shape);
            expect(maxAbsDiff(await y.data(), ref.v)).toBeLessThan(1e-4);
            tf.dispose([a.t, b.t, y]);
          });
      it('fused bias [N] and relu on every row', async () => {
        const a = tf.tensor2d([
          [1, 0],
          [0, 1],
        ]);
        const bT = tf.tensor2d([
          [5, 3],
          [6, 4],
          [8, -70],
        ]);
        const bias = tf.tensor1d([10, 20, 30]);
        const y = tf.fused.matMul({ a, b: bT, transposeB: true, bias, activation: 'relu' });
        expect(Array.from(await y.data())).toEqual([15, 26, 38, 13, 24, 0]);
        tf.dispose([a, bT, bias, y]);
      });
    });
    void backend;
  },
  { only: ['wasm'] },
);

/**
 * The product summed as the SIMD GEMM promises: per element, k in order from 0, each product and
 * each partial sum rounded to float32 (Math.fround), i.e. what a plain float32 triple loop gives.
 */
function sequentialF32(
  a: { v: Float64Array; shape: number[] },
  b: { v: Float64Array; shape: number[] },
  tA: boolean,
  tB: boolean,
): Float32Array {
  const f = Math.fround;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const nA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const nB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const nOut = Math.max(nA, nB);
  const out = new Float32Array(nOut * M * N);
  for (let o = 0; o < nOut; o++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.v[(o % nA) * M * K + (tA ? k * M + i : i * K + k)]!;
          const bv = b.v[(o % nB) * K * N + (tB ? j * K + k : k * N + j)]!;
          s = f(s + f(av * bv));
        }
        out[o * M * N + i * N + j] = s;
      }
  return out;
}

// The WebAssembly SIMD GEMM (simd/gemm.wat) that the wasm kernel uses for most products: forced on
// for every product here, on shapes that are not multiples of its 5 x 8 register tile, of its 256
// k-block or of its row block, with transposes and batches. It must give exactly the bits of the
// sequential float32 sum (the same on every machine), and the XNNPACK route the same values.
describeBackends(
  'matMul through the SIMD GEMM (wasm)',
  () => {
    beforeAll(() => setWasmMatMulRoute('simd'));
    afterAll(() => setWasmMatMulRoute('auto'));
    it('the module runs on this heap', () => {
      expect(wasmGemm(tf.backend())).not.toBeNull();
    });
    // [batchA, batchB, M, K, N]
    const cases: [number[], number[], number, number, number][] = [
      [[], [], 1, 1, 1],
      [[], [], 5, 7, 8],
      [[], [], 11, 300, 23], // two k-blocks; 23 columns = 8 + 8 + 4 + 3
      [[], [], 89, 64, 301], // the score head's rows
      [[], [], 6, 0, 9], // K = 0: zeros
      [[3], [3], 13, 24, 17],
      [[4], [], 9, 31, 12], // shared right operand: batches folded into rows
      [[], [5], 7, 16, 11],
      [[2, 3], [3], 6, 10, 8],
      [[], [], 700, 3, 9], // rows past one row block
    ];
    for (const [bA, bB, M, K, N] of cases)
      for (const [tA, tB] of [
        [false, false],
        [false, true],
        [true, false],
      ] as [boolean, boolean][])
        it(`[${bA}]x${M}x${K} @ [${bB}]x${K}x${N}, transposeA=${tA}, transposeB=${tB}: the sequential float32 bits`, async () => {
          const rng = new Rng(`gemm${bA}${bB}${M}${K}${N}${tA}${tB}`);
          const a = randn(rng, operandShape(bA, M, K, tA));
          const b = randn(rng, operandShape(bB, K, N, tB));
          const y = tf.matMul(a.t, b.t, tA, tB);
          const want = sequentialF32(a, b, tA, tB);
          const got = (await y.data()) as Float32Array;
          expect(y.shape).toEqual(reference(a, b, tA, tB).shape);
          expect(got.length).toBe(want.length);
          let same = 0;
          for (let i = 0; i < want.length; i++) if (Object.is(got[i], want[i]) || got[i] === want[i]) same++;
          expect(same).toBe(want.length);
          expect(maxAbsDiff(got, reference(a, b, tA, tB).v)).toBeLessThan(1e-4);
          tf.dispose([a.t, b.t, y]);
        });
    it('both transposed: the XNNPACK route, still right', async () => {
      const rng = new Rng('gemm-tt');
      const a = randn(rng, [2, 19, 7]);
      const b = randn(rng, [2, 11, 19]);
      const y = tf.matMul(a.t, b.t, true, true);
      expect(maxAbsDiff(await y.data(), reference(a, b, true, true).v)).toBeLessThan(1e-4);
      tf.dispose([a.t, b.t, y]);
    });
    it('gradients through it equal the reference products', async () => {
      const rng = new Rng(8);
      const a = randn(rng, [3, 12, 20]);
      const b = randn(rng, [3, 15, 20]);
      const dy = randn(rng, [3, 12, 15]);
      const [ga, gb] = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.mul(tf.matMul(x, w, false, true), dy.t)),
      )([a.t, b.t]);
      expect(maxAbsDiff(await ga!.data(), reference(dy, b, false, false).v)).toBeLessThan(1e-4);
      expect(maxAbsDiff(await gb!.data(), reference(dy, a, true, false).v)).toBeLessThan(1e-4);
      tf.dispose([a.t, b.t, dy.t, ga!, gb!]);
    });
    it('leaves no backend buffers behind', () => {
      const rng = new Rng(4);
      const a = randn(rng, [4, 16, 24]);
      const b = randn(rng, [4, 30, 24]);
      const before = tf.backend().numDataIds();
      for (let i = 0; i < 3; i++) tf.matMul(a.t, b.t, false, true).dispose();
      expect(tf.backend().numDataIds()).toBe(before);
      tf.dispose([a.t, b.t]);
    });
  },
  { only: ['wasm'] },
);
