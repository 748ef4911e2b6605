import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared data folder: `MMESID_SHARED`, else `../shared` beside the checkout (may not exist). */
export function sharedRoot(): string {
  return process.env.MMESID_SHARED ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared');
}

/**
 * Resolves a path inside the shared data folder (`../shared` beside the checkout, or
 * `MMESID_SHARED`). Returns `{ path }` when it exists, else `{ reason }` to print when skipping.
 */
export function sharedDir(
  ...parts: string[]
): { path: string; reason?: undefined } | { path?: undefined; reason: string } {
  const p = resolve(sharedRoot(), ...parts);
  if (existsSync(p)) return { path: p };
  const reason = `shared data not found at ${p} (set MMESID_SHARED to the folder that holds datasets/ and models/)`;
  console.warn(`[harness] ${reason}`);
  return { reason };
}
