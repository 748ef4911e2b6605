import type { tf } from '../tf.js';

/**
 * The parts of tfjs-backend-cpu's backend that the one-pass kernels of this folder use (not in
 * tfjs's public types): read a tensor's values, make an output from a typed array.
 */
export interface CpuBackendLike {
  data: { get(dataId: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

/**
 * The parts of tfjs-backend-wasm's backend that the one-pass kernels of this folder use: a view of a
 * tensor on the WASM heap, and an output allocated there (optionally filled from `values`).
 */
export interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array | Int32Array,
  ): tf.TensorInfo;
}
