/**
 * Writes the tiny synthetic run (see `tiny-run.ts`) to a folder, so the page can be tried without
 * the full pipeline:
 *
 *   pnpm --filter web demo-run --out runs/web-demo
 *   pnpm --filter web dev      # then open http://localhost:5173/?run=/@fs/<absolute path>/
 *
 * Options: --out <dir> (default runs/web-demo, relative to the repository root), --steps <n>,
 * --items <n>, --users <n>, --seed <n>.
 */
import { initBackend } from '@mmesid/tensor';
import { makeTinyRun } from './tiny-run.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function intOption(name: string): number | undefined {
  const v = option(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} ${v}: expected a positive integer`);
  return n;
}

const { resolve } = await import('node:path');
const root = resolve(import.meta.dirname, '../../..');
const out = resolve(root, option('out') ?? 'runs/web-demo');
await initBackend({ prefer: ['wasm', 'cpu'], log: false });
const t0 = performance.now();
const steps = intOption('steps');
const numItems = intOption('items');
const numUsers = intOption('users');
const seed = intOption('seed');
const run = await makeTinyRun({
  dir: out,
  ...(steps ? { steps } : {}),
  ...(numItems ? { numItems } : {}),
  ...(numUsers ? { numUsers } : {}),
  ...(seed ? { seed } : {}),
});
console.log(
  `wrote ${run.dir}: ${run.numItems} items, ${run.test.length} test users, ${run.training.optimizerSteps} fine-tuning steps ` +
    `(mean loss ${run.training.finalLoss.toFixed(3)}), in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
