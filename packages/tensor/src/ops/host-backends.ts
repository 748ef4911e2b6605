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

/** How a kernel reaches one backend's memory: its outputs (zeroed views to fill) and its inputs' values. */
interface Host {
  /** Allocates the outputs; `infos` hands them to tfjs once they are filled. */
  outputs(specs: HostOutput[]): { views: Array<Float32Array | Int32Array>; infos(): tf.TensorInfo[] };
  values(t: tf.TensorInfo): ArrayLike<number>;
}

const HOSTS: Record<'cpu' | 'wasm', (backend: unknown) => Host> = {
  wasm: (backend) => {
    const b = backend as WasmBackendLike;
    return {
      outputs(specs) {
        // Every output before any view: allocating may grow the heap, which detaches earlier views.
        const infos = specs.map((o) => b.makeOutput(o.shape, o.dtype));
        const views = infos.map((i) => b.typedArrayFromHeap(i).fill(0));
        return { views, infos: () => infos };
      },
      values: (t) => b.typedArrayFromHeap(t),
    };
  },
  cpu: (backend) => {
    const b = backend as CpuBackendLike;
    return {
      outputs(specs) {
        const views = specs.map((o) =>
          o.dtype === 'int32' ? new Int32Array(sizeOf(o.shape)) : new Float32Array(sizeOf(o.shape)),
        );
        return { views, infos: () => specs.map((o, i) => b.makeTensorInfo(o.shape, o.dtype, views[i]!)) };
      },
      values: (t) => b.data.get(t.dataId).values,
    };
  },
};

/**
 * Registers `kernel` under `kernelName` for the cpu and wasm backends (or those of `backends`),
 * skipping a backend that already has it (safe to call more than once). On WASM the outputs live on
 * the heap and are allocated before any view of it is taken.
 */
export function registerHostKernel<A>(
  kernelName: string,
  kernel: HostKernel<A>,
  backends: ReadonlyArray<'cpu' | 'wasm'> = ['cpu', 'wasm'],
): void {
  for (const backendName of backends) {
    if (tf.getKernel(kernelName, backendName)) continue;
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const host = HOSTS[backendName](backend);
        const ins = inputs as Record<string, tf.TensorInfo>;
        const a = attrs as unknown as A;
        const out = host.outputs(kernel.outputs(ins, a));
        const values = Object.fromEntries(Object.entries(ins).map(([k, t]) => [k, host.values(t)]));
        kernel.run(values, ins, a, out.views);
        const infos = out.infos();
        return infos.length === 1 ? infos[0]! : infos;
      },
    });
  }
}
