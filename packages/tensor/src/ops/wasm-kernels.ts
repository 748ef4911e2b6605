import { tf } from '../tf.js';

interface WasmBackendLike {
  readSync(dataId: unknown): ArrayLike<number>;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array | Int32Array,
  ): tf.TensorInfo;
}

/**
 * tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum` kernel, and that kernel is the gradient of
 * `gather`: without it no embedding table can be trained on WASM. This registers a plain
 * TypeScript implementation (a single pass over the rows, in float32 like the other backends).
 * Safe to call more than once.
 */
export function registerMissingWasmKernels(): void {
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
        const { numSegments } = attrs as unknown as { numSegments: number };
        const b = backend as unknown as WasmBackendLike;
        const xv = b.readSync(x.dataId);
        const ids = b.readSync(segmentIds.dataId);
        const nIds = ids.length;
        const inner = nIds === 0 ? 0 : xv.length / nIds;
        const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
        const out =
          x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
        for (let i = 0; i < nIds; i++) {
          const s = ids[i]!;
          if (s < 0 || s >= numSegments) continue; // tf semantics: out-of-range ids are dropped
          const src = i * inner;
          const dst = s * inner;
          for (let j = 0; j < inner; j++) out[dst + j] = out[dst + j]! + xv[src + j]!;
        }
        return b.makeOutput(outShape, x.dtype, undefined, out);
      },
    });
  }
}
