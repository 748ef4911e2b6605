/**
 * `import '@mmesid/tensor/cpu'`: registers tfjs's plain-JavaScript CPU backend in a bundled app, so
 * `initBackend()` has a last resort that needs neither WebGPU nor WebAssembly.
 */
import '@tensorflow/tfjs-backend-cpu';
