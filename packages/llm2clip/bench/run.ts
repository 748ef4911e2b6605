// `pnpm --filter @mmesid/llm2clip bench`: registers the tfjs resolve hook, then runs the benchmark.
import { register } from 'node:module';

register('../../../tooling/scripts/tfjs-resolve-hook.mjs', import.meta.url);
await import('./llm2clip.bench.js');
