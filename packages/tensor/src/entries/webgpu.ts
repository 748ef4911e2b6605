/**
 * `import '@mmesid/tensor/webgpu'`: the WebGPU backend for apps built with a bundler. It registers
 * `@tensorflow/tfjs-backend-webgpu` with tfjs, so `initBackend()` finds it without `loaders`
 * (a bundle only contains the packages it imports; `initBackend` cannot import one by name there).
 * WebGPU has no binary assets. In Node, `initBackend` needs Dawn's `webgpu` package as well.
 *
 * @example
 * import '@mmesid/tensor/webgpu';
 * import '@mmesid/tensor/wasm';
 * import { initBackend } from '@mmesid/tensor';
 * await initBackend(); // WebGPU where the browser has it, else WASM
 */
import '@tensorflow/tfjs-backend-webgpu';
