import { preset } from '@mmesid/tsup-config';

// tfjs-core's gradient and chained-op registrations exist only as extension-less ES modules that
// plain Node cannot load, so they are bundled into dist. tfjs keeps its engine, kernel registry
// and Tensor class on a global object, so the bundled registrations reach the user's tfjs-core.
// The .d.ts keeps the import of the chained-op declarations, so `t.reshape(...)` type-checks for
// packages built against dist.
export default preset({
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  dts: {
    compilerOptions: { customConditions: [] },
    banner: "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
  },
});
