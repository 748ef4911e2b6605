/** Packing with pnpm (as `pnpm publish` would) and reading the tarballs back. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './exec.js';
import type { WorkspacePackage } from './workspace.js';

export interface Packed {
  pkg: WorkspacePackage;
  tgz: string;
  /** Paths inside the tarball, without the leading `package/`. */
  files: string[];
  /** The package.json as published (publishConfig applied, .pnpmfile.cjs beforePacking run). */
  manifest: Record<string, unknown>;
}

/** `pnpm pack` of each package into `dest`, two at a time. */
export async function packAll(pkgs: WorkspacePackage[], dest: string): Promise<Packed[]> {
  const out: Packed[] = [];
  const queue = [...pkgs];
  const worker = async () => {
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) {
      const own = join(dest, pkg.name.replace('@', '').replace('/', '-'));
      mkdirSync(own, { recursive: true });
      await runOk('pnpm', ['pack', '--pack-destination', own], { cwd: pkg.dir });
      const tgz = join(own, readdirSync(own).find((f) => f.endsWith('.tgz'))!);
      const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));
      const manifest = JSON.parse(
        execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' }),
      );
      out.push({ pkg, tgz, files, manifest });
    }
  };
  await Promise.all([worker(), worker()]);
  return out.sort((a, b) => a.pkg.name.localeCompare(b.pkg.name));
}

/** Whether a `sideEffects` glob (`./dist/*.js`) names at least one file of the tarball. */
export function globMatchesSome(pattern: string, files: string[]): boolean {
  const p = pattern.replace(/^\.\//, '');
  const re = new RegExp(
    `^${p
      .split('**')
      .map((part) =>
        part
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^/]*'),
      )
      .join('.*')}$`,
  );
  return files.some((f) => re.test(f));
}
