// Shared vitest setup: resolve workspace packages to their TypeScript source (the "source"
// export condition), so no package has to be built before another one's tests run.
import { defaultServerConditions } from 'vite';
import { defineConfig, mergeConfig } from 'vitest/config';

const conditions = ['source', ...defaultServerConditions];

/** @param {import('vitest/config').UserConfig} [overrides] */
export function preset(overrides = {}) {
  return mergeConfig(
    defineConfig({
      resolve: { conditions },
      ssr: { resolve: { conditions, externalConditions: ['source'] } },
      test: {
        include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        exclude: ['**/*.browser.test.ts', '**/node_modules/**'],
        testTimeout: 180_000,
        hookTimeout: 180_000,
        pool: 'forks',
        poolOptions: { forks: { maxForks: 2, minForks: 1 } },
        reporters: ['default'],
      },
    }),
    overrides,
  );
}
