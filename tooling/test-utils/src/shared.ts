import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Resolves a path inside the shared data folder (`../shared` beside the checkout, or
 * `MMESID_SHARED`). Returns `{ path }` when it exists, else `{ reason }` to print when skipping.
 */
export function sharedDir(
  ...parts: string[]
): { path: string; reason?: undefined } | { path?: undefined; reason: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = process.env.MMESID_SHARED ?? resolve(here, '../../../../shared');
  const p = resolve(root, ...parts);
  if (existsSync(p)) return { path: p };
  const reason = `shared data not found at ${p} (set MMESID_SHARED to the folder that holds datasets/ and models/)`;
  console.warn(`[harness] ${reason}`);
  return { reason };
}
