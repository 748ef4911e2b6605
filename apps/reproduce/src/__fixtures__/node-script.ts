// Test helper: how the package's scripts run a TypeScript file (`start` in package.json): one node
// process with tsx as a loader and the repo's tfjs resolve hook, workspace packages from source.
// Signals sent to the child reach the script itself (the `tsx` CLI would relay them to a second
// process), so the interruption and lock tests see what a user's Ctrl-C does.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/reproduce: the working directory the scripts run in (tsx resolves from it). */
export const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The command and arguments that run `script` (a path, absolute or relative to `appDir`) with `args`. */
export function nodeScript(
  script: string,
  args: string[] = [],
): { cmd: string; args: string[]; cwd: string } {
  return {
    cmd: process.execPath,
    args: [
      '--conditions=source',
      '--import',
      'tsx',
      '--import',
      resolve(appDir, '../../tooling/scripts/tsx-hooks.mjs'),
      resolve(appDir, script),
      ...args,
    ],
    cwd: appDir,
  };
}
