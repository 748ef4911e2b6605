// `pnpm --filter @mmesid/llm2clip encode -- ...`: registers the tfjs resolve hook, then runs encode-items.
import { register } from 'node:module';

register('../../../tooling/scripts/tfjs-resolve-hook.mjs', import.meta.url);
await import('./encode-items.js');
