import { preset } from '@mmesid/tsup-config';

// Node built-ins are imported lazily by the file helpers; keep the `node:` prefix and leave them
// unbundled so browser bundles of the rest of this package never pull them in.
export default preset({ removeNodeProtocol: false, external: [/^node:/] });
