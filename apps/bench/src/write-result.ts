import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo's benchmarks/results directory. */
export const RESULTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../benchmarks/results');

/** Writes `benchmarks/results/<name>.json` atomically (temp file, then rename). */
export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const target = resolve(RESULTS_DIR, `${name}.json`);
  const tmp = `${target}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(tmp, target);
  return target;
}
