#!/usr/bin/env node
// Builds build/blas.node (src/sgemm.c against OpenBLAS) with the system C compiler and Node's own
// headers: no node-gyp and no download, so it works offline. Never fails the install: when a
// compiler, Node's headers or OpenBLAS is missing it prints why and exits 0, and @mmesid/tensor
// then runs without the native path. Debian: `apt-get install gcc libopenblas-dev` (Node's headers
// come with the nodejs package at /usr/include/node; elsewhere set NODE_INCLUDE_DIR).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'blas.node');
const skip = (why) => {
  console.log(`[blas-native] not built: ${why}`);
  process.exit(0);
};
const includeCandidates = [
  process.env.NODE_INCLUDE_DIR,
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].filter(Boolean);
const nodeInclude = includeCandidates.find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeInclude) skip(`node_api.h not found in ${includeCandidates.join(', ')} (set NODE_INCLUDE_DIR)`);
const cblasCandidates = [
  '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/openblas',
  '/usr/include',
];
const cblasInclude = cblasCandidates.find((d) => existsSync(join(d, 'cblas.h')));
if (!cblasInclude) skip('cblas.h not found (Debian: apt-get install libopenblas-dev)');
const cc = process.env.CC ?? 'cc';
const tmp = `${out}.tmp-${process.pid}`;
mkdirSync(dirname(out), { recursive: true });
try {
  execFileSync(
    cc,
    [
      '-O2',
      '-shared',
      '-fPIC',
      `-I${nodeInclude}`,
      `-I${cblasInclude}`,
      join(here, 'src', 'sgemm.c'),
      '-o',
      tmp,
      '-lopenblas',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
} catch (e) {
  skip(
    `${cc} failed: ${String(e.stderr ?? e.message)
      .trim()
      .split('\n')
      .slice(0, 4)
      .join(' | ')} (Debian: apt-get install gcc libopenblas-dev)`,
  );
}
renameSync(tmp, out);
console.log(`[blas-native] built ${out}`);
