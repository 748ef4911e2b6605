/**
 * How the page's bundle gets its tfjs backends. A browser bundle only contains what it imports, so
 * `@mmesid/tensor`'s `initBackend` is given one loader per backend (split into their own chunks and
 * fetched only when tried), and the WASM backend is pointed at the `.wasm` binaries that Vite
 * copies into the build (hashed names, hence a map rather than a folder prefix).
 */
import { type BackendChoice, type BackendName, initBackend } from '@mmesid/tensor';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { PAGE_BACKENDS } from './protocol.js';

/** One loader per browser backend, for `initBackend({ loaders })`. */
export const BACKEND_LOADERS: Partial<Record<BackendName, () => Promise<unknown>>> = {
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  wasm: async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    });
    return wasm;
  },
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
};

/**
 * Starts the best backend this browser (or worker) offers: WebGPU, else WASM, else CPU, recording
 * why each better one was not used. `require` pins one backend (the page's `?backend=` parameter)
 * and throws a `BackendError` with the reason when it cannot start.
 *
 * The browser order is passed explicitly: inside a worker there is no `window`, and
 * `initBackend`'s own environment check would otherwise try the Node backends first.
 */
export function startBackend(require?: BackendName): Promise<BackendChoice> {
  return initBackend({
    ...(require ? { require } : { prefer: PAGE_BACKENDS }),
    loaders: BACKEND_LOADERS,
    log: false,
    ignoreEnv: true,
  });
}
