/**
 * A user's project outside the workspace: a temporary folder holding `app/` (a package.json that
 * depends on the packed tarballs, installed with npm) and, where the repository has it, a `shared`
 * link to the real data beside the checkout, so that paths such as `../shared/models/stories260k`
 * in the README examples mean from `app/` what they mean beside a checkout.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runOk } from './exec.js';
import type { Packed } from './tarball.js';
import { REPO_ROOT, workspaceVersion } from './workspace.js';

export interface ConsumerProject {
  root: string;
  app: string;
  /** The `shared` link inside `root`, or undefined when the data is not present. */
  shared?: string;
}

/** `../shared` beside the checkout, or `MMESID_SHARED`; undefined when absent. */
export function sharedSource(): string | undefined {
  const dir = process.env.MMESID_SHARED ?? resolve(REPO_ROOT, '..', 'shared');
  return existsSync(dir) ? dir : undefined;
}

/**
 * Third-party packages the app installs beside the tarballs, at the versions the workspace's
 * lockfile resolved (so the run is reproducible and npm's cache is warm after the first run).
 */
function thirdParty(): { dependencies: Record<string, string>; devDependencies: Record<string, string> } {
  const tensorDir = join(REPO_ROOT, 'packages', 'tensor');
  const v = (name: string, from = tensorDir) => workspaceVersion(name, from);
  return {
    dependencies: Object.fromEntries(
      [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-webgpu',
      ].map((n) => [n, v(n)]),
    ),
    devDependencies: {
      typescript: v('typescript', REPO_ROOT),
      vite: v('vite', tensorDir),
      '@types/node': v('@types/node', REPO_ROOT),
    },
  };
}

/** Creates the project and runs `npm install` (registry, npm's cache preferred). */
export async function createProject(packed: Packed[]): Promise<ConsumerProject> {
  const root = mkdtempSync(join(tmpdir(), 'mmesid-consumer-'));
  const app = join(root, 'app');
  const { dependencies, devDependencies } = thirdParty();
  for (const p of packed) dependencies[p.pkg.name] = `file:${p.tgz}`;
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'consumer-app', private: true, type: 'module', dependencies, devDependencies }, null, 2)}\n`,
  );
  await runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    timeoutMs: 600_000,
  });
  const src = sharedSource();
  let shared: string | undefined;
  if (src) {
    shared = join(root, 'shared');
    symlinkSync(src, shared, 'dir');
  }
  return { root, app, ...(shared ? { shared } : {}) };
}
