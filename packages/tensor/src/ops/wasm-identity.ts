import { tf } from '../tf.js';

/**
 * The WASM backend's Identity kernel without the copy. tfjs-backend-wasm's Identity allocates a new
 * buffer and copies the input into it; tfjs-backend-cpu's (and Reshape on WASM) share the input's
 * buffer and count one more reference instead. tfjs's gradient tape runs Identity (through
 * `clone`) on every tensor it saves for the backward pass, so on WASM a training step copies each
 * saved activation and weight once more: about 1,600 Identity kernels per MME-SID micro-batch,
 * among them the [d, N + 1] score tables, and the garbage they leave.
 *
 * Sharing is safe because a tfjs tensor's data never changes once written: every kernel (the
 * mmesid ones included) writes only its own outputs, and `Variable.assign` points the variable at
 * new data instead of overwriting the old. The values are the same bits either way.
 */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

let original: tf.KernelConfig | undefined;
let originalCast: tf.KernelConfig | undefined;

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const x = args.inputs.x!;
  // Strings live outside the heap; the original kernel handles them.
  if (x.dtype === 'string')
    return original!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  (args.backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Cast to the dtype x already has is Identity too (tfjs's Multiply gradient casts the other factor
 * to float32 every time: about 130 Cast kernels per MME-SID micro-batch); other casts convert.
 */
function cast(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  if (x.dtype === args.attrs?.dtype && x.dtype !== 'string') return identity(args);
  return originalCast!.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

/**
 * Replaces the WASM backend's copying Identity (and its Cast to the same dtype) with the sharing
 * one (once); false when WASM is not registered.
 */
export function registerWasmIdentity(): boolean {
  const current = tf.getKernel('Identity', 'wasm');
  const currentCast = tf.getKernel('Cast', 'wasm');
  if (!current || !currentCast) return false;
  if (current.kernelFunc === (identity as unknown)) return true;
  original = current;
  originalCast = currentCast;
  tf.unregisterKernel('Identity', 'wasm');
  tf.unregisterKernel('Cast', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: identity as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: 'Cast',
    backendName: 'wasm',
    kernelFunc: cast as unknown as tf.KernelFunc,
  });
  return true;
}

/** Puts tfjs's copying Identity back (for measurements that compare the two). */
export function unregisterWasmIdentity(): void {
  if (!original || !originalCast || tf.getKernel('Identity', 'wasm')?.kernelFunc !== (identity as unknown))
    return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.unregisterKernel('Cast', 'wasm');
  tf.registerKernel(original);
  tf.registerKernel(originalCast);
}
