/**
 * Every `ts example` block of every public package's README, extracted from the README itself and
 * run with tsx (the repository's one script runner) in the consumer project, against the packed
 * tarballs, as a user who pastes it would. Paths such as `../shared/...` resolve to the data beside
 * the checkout (see src/project.ts); an example that needs it is skipped, with the reason printed,
 * where it is absent.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runOk } from '../src/exec.js';
import { exampleBlocks } from '../src/readme.js';
import { REPO_ROOT } from '../src/workspace.js';

const consumer = inject('consumer');
const tsx = createRequire(join(REPO_ROOT, 'package.json')).resolve('tsx/cli');

describe('README examples', () => {
  for (const p of consumer.packed) {
    const readme = join(p.dir, 'README.md');
    const blocks = exampleBlocks(readFileSync(readme, 'utf8'), readme);
    it(`${p.name} has at least one \`\`\`ts example block`, () => {
      expect(blocks.length).toBeGreaterThan(0);
    });
    for (const b of blocks) {
      const needsShared = b.code.includes('../shared/');
      const skip = needsShared && !consumer.shared;
      if (skip)
        console.log(`[examples] ${p.name} README.md:${b.line} skipped: ../shared is not beside the checkout`);
      it.skipIf(skip)(`${p.name} README.md:${b.line} runs`, async () => {
        const file = join(consumer.app, 'examples', `${p.name.replace('@mmesid/', '')}-${b.line}.ts`);
        writeFileSync(file, b.code);
        const started = Date.now();
        await runOk(process.execPath, [tsx, file], { cwd: consumer.app, timeoutMs: 600_000 });
        console.log(
          `[examples] ${p.name} README.md:${b.line}: ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      });
    }
  }
});
