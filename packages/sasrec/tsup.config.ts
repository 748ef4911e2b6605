import { preset } from '@mmesid/tsup-config';

// Node built-ins are imported lazily with their `node:` prefix, which the preset keeps (and leaves
// unbundled), so browser bundles of this package need no Node polyfills and print no warnings.
export default preset();
