/** The workspace as pnpm sees it: which packages are published, where they are. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from './exec.js';

/** The repository root (this package sits at packages/consumer-tests). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
  manifest: Record<string, unknown>;
}

/**
 * Every public (not `private`) package of the workspace, found through `pnpm ls -r`, so a package
 * added later is packed and checked without editing this suite.
 */
export async function publicPackages(): Promise<WorkspacePackage[]> {
  const { stdout } = await runOk('pnpm', ['ls', '-r', '--depth', '-1', '--json'], { cwd: REPO_ROOT });
  const listed = JSON.parse(stdout) as { name?: string; path: string; private?: boolean }[];
  return listed
    .filter((p) => p.name && !p.private)
    .map((p) => {
      const manifest = JSON.parse(readFileSync(join(p.path, 'package.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      return { name: p.name!, version: String(manifest.version), dir: p.path, manifest };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The installed version of a dependency as the workspace resolves it from `fromDir`. */
export function workspaceVersion(pkg: string, fromDir: string): string {
  let dir = fromDir;
  for (;;) {
    try {
      return (
        JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      const up = dirname(dir);
      if (up === dir) throw new Error(`${pkg} is not installed in the workspace (from ${fromDir})`);
      dir = up;
    }
  }
}
