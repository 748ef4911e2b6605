import { preset } from '@mmesid/tsup-config';

// Checkpoints and exports read and write files through lazily imported `node:` built-ins; keep them
// external so the model, losses and scorers still bundle for a browser.
export default preset({ removeNodeProtocol: false, external: [/^node:/] });
