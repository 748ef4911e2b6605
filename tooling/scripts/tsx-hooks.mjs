// The repository's one script runner is tsx, always as
//   tsx --conditions=source --import ../../tooling/scripts/tsx-hooks.mjs <script.ts>
// or, where signals must reach the script itself (`pnpm reproduce`, whose SIGINT handler releases
// its stage lock), as a loader in one node process:
//   node --conditions=source --import tsx --import ../../tooling/scripts/tsx-hooks.mjs <script.ts>
// (from a package or app folder): `source` resolves workspace packages to their TypeScript source,
// and this installs tfjs-esm-resolve.mjs (see there) so tfjs-core's ES-module files load.
import { register } from 'node:module';

register('./tfjs-esm-resolve.mjs', import.meta.url);
