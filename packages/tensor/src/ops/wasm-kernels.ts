import { registerHostKernel } from './host-backends.js';

/**
 * tfjs-backend-wasm 4.22 has no `UnsortedSegmentSum` kernel, and that kernel is the gradient of
 * `gather`: without it no embedding table can be trained on WASM. This registers a plain
 * TypeScript implementation (a single pass over the rows, in float32 like the other backends).
 * Safe to call more than once.
 */
export function registerMissingWasmKernels(): void {
  registerHostKernel<{ numSegments: number }>(
    'UnsortedSegmentSum',
    {
      outputs: ({ x, segmentIds }, { numSegments }) => [
        {
          shape: [numSegments, ...x!.shape.slice(segmentIds!.shape.length)],
          dtype: x!.dtype === 'int32' ? 'int32' : 'float32',
        },
      ],
      run: ({ x, segmentIds }, _inputs, { numSegments }, [out]) => {
        const nIds = segmentIds!.length;
        const inner = nIds === 0 ? 0 : x!.length / nIds;
        for (let i = 0; i < nIds; i++) {
          const s = segmentIds![i]!;
          if (s < 0 || s >= numSegments) continue; // tf semantics: out-of-range ids are dropped
          const src = i * inner;
          const dst = s * inner;
          for (let j = 0; j < inner; j++) out![dst + j] = out![dst + j]! + x![src + j]!;
        }
      },
    },
    { backends: ['wasm'] },
  );
}
