// `pnpm --filter web test:browser`: the Playwright end-to-end test (Node drives headless Chromium).
import { preset } from '@mmesid/vitest-config';
import type { UserConfig } from 'vitest/config';

const base: UserConfig = preset();

const config: UserConfig = {
  ...base,
  test: {
    ...base.test,
    include: ['test/**/*.e2e.test.ts'],
    exclude: ['**/node_modules/**'],
    poolOptions: { forks: { singleFork: true } },
  },
};

export default config;
