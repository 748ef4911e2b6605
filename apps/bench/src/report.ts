// `pnpm backend-report`: which backend this machine gets, why the better ones were skipped, and
// how fast an f32 matmul runs on it.
import { backendReport } from '@mmesid/tensor';

const report = await backendReport({ sizes: [256, 1024] });
console.log(report.text);
process.exit(0);
