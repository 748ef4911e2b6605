import { preset } from '@mmesid/tsup-config';

// tfjs-core's gradient and chained-op registrations exist only as extension-less ES modules that
// plain Node cannot load, so they are bundled into dist. tfjs keeps its engine, kernel registry
// and Tensor class on a global object, so the bundled registrations reach the user's tfjs-core.
// The .d.ts keeps the import of the chained-op declarations, so `t.reshape(...)` type-checks for
// packages built against dist; it names the file with `.js` because nodenext resolution, unlike
// bundler resolution, finds no extension-less deep import from an ES module.
//
// `wasm`, `webgpu` and `cpu` are the side-effect entries that register one backend in a bundled app
// (`import '@mmesid/tensor/wasm'`); the backend packages stay external (optional peers).
export default preset({
  entry: {
    index: 'src/index.ts',
    wasm: 'src/entries/wasm.ts',
    webgpu: 'src/entries/webgpu.ts',
    cpu: 'src/entries/cpu.ts',
  },
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  dts: {
    compilerOptions: { customConditions: [] },
    banner: "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';",
  },
});
