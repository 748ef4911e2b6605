import { preset } from '@mmesid/vitest-config';
import type { UserConfig } from 'vitest/config';

const base: UserConfig = preset();

// One fork, files in order: the suites share one packed-and-installed project (test/setup.ts).
const config: UserConfig = {
  ...base,
  test: {
    ...base.test,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup.ts'],
    fileParallelism: false,
    poolOptions: { forks: { singleFork: true } },
  },
};

export default config;
