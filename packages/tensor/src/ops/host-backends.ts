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
 * A kernel's gradient as one gradient kernel: it runs on `{ dy, ...inputs }` (the forward's inputs
 * named in `inputs`, saved on the tape, plus the forward's outputs named in `outputs` under those
 * names) with the forward's attrs, and returns the gradients of `of` in that order. `grad`, when
 * given, is the gradient kernel itself, registered with the forward (cpu and wasm). Or a tfjs
 * gradient config (`inputsToSave`, `gradFunc`, ...) for gradients that are not one kernel. With
 * several forward outputs only the first is differentiated (the gradient kernel gets its dy).
 */
export type KernelGradient<A = Record<string, unknown>> =
  | {
      kernel: string;
      inputs: readonly string[];
      /** Forward outputs the gradient kernel also reads, by output index, each under a name. */
      outputs?: Readonly<Record<number, string>>;
      /** The inputs the gradient kernel returns gradients for, in its outputs' order (default `inputs`). */
      of?: readonly string[];
      grad?: HostKernel<A>;
    }
  | Omit<tf.GradConfig, 'kernelName'>;

/**
 * Registers `gradient` as `kernelName`'s gradient (once; a kernel that already has one keeps it).
 * The one-kernel form saves the inputs (and outputs) it names and runs the gradient kernel once per
 * backward pass, handing each gradient of `of` to the tape.
 */
export function registerKernelGradient<A>(kernelName: string, gradient: KernelGradient<A>): void {
  if (tf.getGradient(kernelName)) return;
  if (!('kernel' in gradient)) {
    tf.registerGradient({ kernelName, ...gradient });
    return;
  }
  const { kernel, inputs, outputs = {}, of = inputs } = gradient;
  const outIndex = Object.keys(outputs).map(Number);
  const outputsToSave = outIndex.length
    ? Array.from({ length: Math.max(...outIndex) + 1 }, (_, i) => i in outputs)
    : undefined;
  const savedNames = [...inputs, ...outIndex.sort((a, b) => a - b).map((i) => outputs[i]!)];
  tf.registerGradient({
    kernelName,
    inputsToSave: [...inputs],
    ...(outputsToSave ? { outputsToSave } : {}),
    gradFunc: (dy, saved, attrs) => {
      // A kernel of several outputs gets one dy per output: the gradient kernel reads the first's.
      const named: Record<string, tf.Tensor> = { dy: Array.isArray(dy) ? dy[0]! : dy };
      savedNames.forEach((n, i) => {
        named[n] = saved[i]!;
      });
      const r = tf.engine().runKernel(kernel, named, attrs as unknown as tf.NamedAttrMap);
      const grads = Array.isArray(r) ? r : [r];
      return Object.fromEntries(of.map((n, i) => [n, () => grads[i]!]));
    },
  });
}

/**
 * Registers `kernel` under `kernelName` for the cpu and wasm backends (or those of `backends`),
 * skipping a backend that already has it (safe to call more than once), and its `gradient` (and
 * the gradient's own host kernel) when given. On WASM the outputs live on the heap and are
 * allocated before any view of it is taken.
 */
export function registerHostKernel<A>(
  kernelName: string,
  kernel: HostKernel<A>,
  options: { backends?: ReadonlyArray<'cpu' | 'wasm'>; gradient?: KernelGradient<A> } = {},
): void {
  const { backends = ['cpu', 'wasm'], gradient } = options;
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
  if (!gradient) return;
  if ('kernel' in gradient && gradient.grad) registerHostKernel(gradient.kernel, gradient.grad, { backends });
  registerKernelGradient(kernelName, gradient);
}
