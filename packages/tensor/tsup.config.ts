import { preset } from '@mmesid/tsup-config';

// tfjs-core's gradient and chained-op registrations exist only as extension-less ES modules that
// plain Node cannot load, so they are bundled into dist. tfjs keeps its engine, kernel registry
// and Tensor class on a global object, so the bundled registrations reach the user's tfjs-core.
export default preset({
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
