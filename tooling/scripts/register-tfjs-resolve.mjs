// `node --import <repo>/tooling/scripts/register-tfjs-resolve.mjs` (or tsx --import): installs
// tfjs-resolve-hook.mjs (see there).
import { register } from 'node:module';

register('./tfjs-resolve-hook.mjs', import.meta.url);
