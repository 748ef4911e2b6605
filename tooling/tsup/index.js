// One build for every published package: ESM + .d.ts from src/index.ts, deps left external.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
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
    ...overrides,
  });
}
