// Loads build/blas.node when `node build.mjs` built it; otherwise says why not.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const path = join(dirname(fileURLToPath(import.meta.url)), 'build', 'blas.node');

/** @returns {{ ok: true, blas: import('./index.js').NativeBlas } | { ok: false, reason: string }} */
export function loadNativeBlas() {
  if (!existsSync(path))
    return {
      ok: false,
      reason: `${path} was not built (run \`node build.mjs\` in @mmesid/blas-native; needs gcc and libopenblas-dev)`,
    };
  try {
    const blas = createRequire(import.meta.url)(path);
    return { ok: true, blas };
  } catch (e) {
    return { ok: false, reason: `${path} failed to load: ${e instanceof Error ? e.message : String(e)}` };
  }
}
