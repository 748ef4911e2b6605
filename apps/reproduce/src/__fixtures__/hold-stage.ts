// Test helper: takes a stage lock in <runDir> and works until it is killed (lock.test.ts sends it
// SIGINT and checks that the lock is gone). Usage (see node-script.ts): hold-stage.ts <runDir>
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../cache.js';

const runDir = process.argv[2]!;
await runStage(
  runDir,
  'held',
  { n: 1 },
  {},
  async () => {
    writeFileSync(join(runDir, 'started'), String(process.pid));
    await new Promise(() => setInterval(() => {}, 1000));
    return {};
  },
  () => {},
);
