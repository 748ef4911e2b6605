import { preset } from '@mmesid/tsup-config';

// Keep the `node:` prefix on the lazily imported built-ins (file loaders, memory detection) and leave
// them unbundled, so bundlers see them as Node-only and the model itself stays browser-usable.
export default preset({ removeNodeProtocol: false, external: [/^node:/] });
