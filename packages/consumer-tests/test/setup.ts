/**
 * Vitest global setup: packs every public workspace package (turbo has built them: this package's
 * `test` depends on `^build`), installs the tarballs with npm into a fresh project outside the
 * workspace and copies the fixtures in. The test files check that one project.
 * `MMESID_KEEP_CONSUMER=1` keeps the temporary folder for inspection.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createProject } from '../src/project.js';
import { type Packed, packAll } from '../src/tarball.js';
import { publicPackages } from '../src/workspace.js';

export interface PackedInfo {
  name: string;
  dir: string;
  tgz: string;
  files: string[];
  manifest: Record<string, unknown>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    consumer: { root: string; app: string; shared?: string; packed: PackedInfo[] };
  }
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** `packages.mjs`: a namespace import of every public package, so each is loaded and bundled. */
function packagesModule(packed: Packed[]): string {
  const lines = packed.map((p, i) => `import * as p${i} from '${p.pkg.name}';`);
  lines.push('', 'export const packages = {', ...packed.map((p, i) => `  '${p.pkg.name}': p${i},`), '};', '');
  return lines.join('\n');
}

export default async function setup(project: TestProject): Promise<() => void> {
  const started = Date.now();
  const pkgs = await publicPackages();
  const tmpTarballs = join(FIXTURES, '..', '.tmp', 'tarballs');
  rmSync(tmpTarballs, { recursive: true, force: true });
  const packed = await packAll(pkgs, tmpTarballs);
  const p = await createProject(packed);
  cpSync(join(FIXTURES, 'app'), p.app, { recursive: true });
  writeFileSync(join(p.app, 'packages.mjs'), packagesModule(packed));
  mkdirSync(join(p.app, 'examples'), { recursive: true });
  console.log(
    `[consumer] packed ${packed.length} packages (${packed.map((x) => x.pkg.name).join(', ')}) and installed them in ${p.app} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  project.provide('consumer', {
    ...p,
    packed: packed.map((x) => ({
      name: x.pkg.name,
      dir: x.pkg.dir,
      tgz: x.tgz,
      files: x.files,
      manifest: x.manifest,
    })),
  });
  return () => {
    if (process.env.MMESID_KEEP_CONSUMER === '1') console.log(`[consumer] kept ${p.root}`);
    else rmSync(p.root, { recursive: true, force: true });
    rmSync(tmpTarballs, { recursive: true, force: true });
  };
}
