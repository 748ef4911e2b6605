// Unit tests (Node) and the config vitest runs them with: workspace packages resolve to source.
import { preset } from '@mmesid/vitest-config';

export default preset({ test: { exclude: ['**/*.e2e.test.ts', '**/node_modules/**'] } });
