// The tensor suite in a real headless Chromium (Debian's /usr/bin/chromium) on WebGPU over
// SwiftShader, plus WASM and CPU. Run by `.ci/run` through `pnpm test:browser`, whose
// `--configLoader runner` lets this file import the flag list from test-utils' TypeScript source.
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '@mmesid/test-utils/chromium';
import { defaultClientConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', ...defaultClientConditions] },
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-webgpu',
    ],
  },
  test: {
    include: ['src/module.test.ts', 'src/layers/**/*.test.ts', 'src/optim/**/*.test.ts'],
    // Checkpoints are files on disk: Node only.
    exclude: ['src/optim/training-checkpoint.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    browser: {
      enabled: true,
      provider: 'playwright',
      headless: true,
      screenshotFailures: false,
      instances: [
        {
          browser: 'chromium',
          launch: {
            executablePath: CHROMIUM_PATH,
            args: [...CHROMIUM_ARGS],
          },
        },
      ],
    },
  },
});
