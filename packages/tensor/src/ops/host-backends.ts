import { tf } from '../tf.js';

/**
 * The parts of tfjs-backend-cpu's backend that the one-pass kernels of this folder use (not in
 * tfjs's public types): read a tensor's values, make an output from a typed array.
 */
interface CpuBackendLike {
  data: { get(dataId: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

/**
 * The parts of tfjs-backend-wasm's backend that the one-pass kernels of this folder use: a view of a
 * tensor on the WASM heap (typed by its dtype), and an output allocated there.
 */
interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** One output of a {@link HostKernel}. */
export interface HostOutput {
  shape: number[];
  dtype: 'float32' | 'int32';
}

/**
 * A kernel written as a loop over plain typed arrays, run on the cpu backend's buffers and on the
 * WASM heap without copies.
 */
export interface HostKernel<A = Record<string, unknown>> {
  /** The outputs' shapes and dtypes, from the inputs' shapes (nothing is read). */
  outputs(inputs: Record<string, tf.TensorInfo>, attrs: A): HostOutput[];
  /** Fills `outs` (zeroed, in the order of `outputs`) from the inputs' values. */
  run(
    values: Record<string, ArrayLike<number>>,
    inputs: Record<string, tf.TensorInfo>,
    attrs: A,
    outs: Array<Float32Array | Int32Array>,
  ): void;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function valuesOf(
  inputs: Record<string, tf.TensorInfo>,
  view: (t: tf.TensorInfo) => ArrayLike<number>,
): Record<string, ArrayLike<number>> {
  return Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, view(t)]));
}

/**
 * Registers `kernel` under `kernelName` for the cpu and wasm backends (or those of `backends`),
 * skipping a backend that already has it (safe to call more than once). On WASM the outputs are allocated before any view
 * of the heap is taken: allocating may grow the heap, which detaches earlier views.
 */
export function registerHostKernel<A>(
  kernelName: string,
  kernel: HostKernel<A>,
  backends: ReadonlyArray<'cpu' | 'wasm'> = ['cpu', 'wasm'],
): void {
  if (backends.includes('wasm') && !tf.getKernel(kernelName, 'wasm'))
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as WasmBackendLike;
        const ins = inputs as Record<string, tf.TensorInfo>;
        const a = attrs as unknown as A;
        const outs = kernel.outputs(ins, a).map((o) => b.makeOutput(o.shape, o.dtype));
        const views = outs.map((o) => {
          const v = b.typedArrayFromHeap(o);
          v.fill(0);
          return v;
        });
        kernel.run(
          valuesOf(ins, (t) => b.typedArrayFromHeap(t)),
          ins,
          a,
          views,
        );
        return outs.length === 1 ? outs[0]! : outs;
      },
    });
  if (backends.includes('cpu') && !tf.getKernel(kernelName, 'cpu'))
    tf.registerKernel({
      kernelName,
      backendName: 'cpu',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const b = backend as unknown as CpuBackendLike;
        const ins = inputs as Record<string, tf.TensorInfo>;
        const a = attrs as unknown as A;
        const specs = kernel.outputs(ins, a);
        const outs = specs.map((o) =>
          o.dtype === 'int32' ? new Int32Array(sizeOf(o.shape)) : new Float32Array(sizeOf(o.shape)),
        );
        kernel.run(
          valuesOf(ins, (t) => b.data.get(t.dataId).values),
          ins,
          a,
          outs,
        );
        const infos = specs.map((o, i) => b.makeTensorInfo(o.shape, o.dtype, outs[i]!));
        return infos.length === 1 ? infos[0]! : infos;
      },
    });
}
