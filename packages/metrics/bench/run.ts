// `pnpm --filter @mmesid/metrics bench`: installs the resolve hook, then runs the benchmark.
import { register } from 'node:module';

register('./tfjs-esm-resolve.mjs', import.meta.url);
await import('./metrics.bench.js');
