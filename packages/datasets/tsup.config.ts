import { preset } from '@mmesid/tsup-config';

// Keep the `node:` prefix on the lazily imported built-ins (and leave them unbundled) so bundlers
// see them as Node-only; the parsers, splits and generator stay usable in a browser.
export default preset({ removeNodeProtocol: false, external: [/^node:/] });
