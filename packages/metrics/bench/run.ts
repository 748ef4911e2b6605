// `pnpm --filter @mmesid/metrics bench`: installs the resolve hook, then runs the benchmark.
import { register } from 'node:module';

register('../../../tooling/scripts/tfjs-resolve-hook.mjs', import.meta.url);
await import('./metrics.bench.js');
