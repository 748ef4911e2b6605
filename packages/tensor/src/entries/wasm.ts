/**
 * `import '@mmesid/tensor/wasm'`: the WASM backend for apps built with a bundler (Vite, webpack,
 * Rollup, Parcel). It registers `@tensorflow/tfjs-backend-wasm` with tfjs and points it at its
 * three `.wasm` binaries through `new URL('<package>/dist/<file>.wasm', import.meta.url)`, which
 * bundlers resolve at build time: they copy each binary into the build output (hashed) and put its
 * final URL here. Nothing has to be copied into `public/` and no `wasmPaths` has to be passed;
 * `initBackend()` then finds the backend already registered.
 *
 * In Node this import only registers the backend (Node reads the binaries from the package itself).
 * Needs `@tensorflow/tfjs-backend-wasm` installed beside `@tensorflow/tfjs-core`.
 *
 * @example
 * import '@mmesid/tensor/wasm';
 * import { initBackend } from '@mmesid/tensor';
 * await initBackend({ prefer: 'wasm' });
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** The URL of each binary as the bundler rewrote it (in Node: where the package would sit beside this file). */
export const wasmBinaryUrls = {
  'tfjs-backend-wasm.wasm': new URL(
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    import.meta.url,
  ).href,
  'tfjs-backend-wasm-simd.wasm': new URL(
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
    import.meta.url,
  ).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
    import.meta.url,
  ).href,
} as const;

const inNode = !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
// Node loads the binaries from the installed package; only a bundle needs the rewritten URLs. (A page
// that loads these modules unbundled gets unresolved URLs here; it must pass `wasmPaths` instead.)
if (!inNode) setWasmPaths({ ...wasmBinaryUrls });
