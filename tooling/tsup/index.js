// One build for every published package: ESM + .d.ts from src/index.ts, deps left external.
import { defineConfig } from 'tsup';

/**
 * Node built-ins keep their `node:` prefix and stay unbundled: bundlers then know them as Node-only
 * and leave them out of browser builds without a warning (tsup strips the prefix by default, and
 * Vite warns "Module "fs/promises" has been externalized for browser compatibility" for each).
 * @param {import('tsup').Options} [overrides]
 */
export function preset(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    treeshake: true,
    splitting: false,
    removeNodeProtocol: false,
    ...overrides,
    external: [/^node:/, ...(overrides.external ?? [])],
  });
}
