// Test helper for interrupt.test.ts: a two-stage pipeline through runStage whose stages work in
// steps, keep a checkpoint in their work folder after every step (as SASRec, the RQ-VAE and
// fine-tuning do) and resume from it. A step's result depends on the previous one, so a resume that
// lost or repeated a step gives another final value.
// Usage (see node-script.ts): steps-stage.ts <runDir> [pauseMs]   (prints "step <stage> <k>" after each step)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage, writeFileAtomic } from '../cache.js';

export async function stepsPipeline(runDir: string, pauseMs: number, say: (s: string) => void) {
  const stage = async (name: string, steps: number, seed: number, inputs: Record<string, string>) =>
    runStage(
      runDir,
      name,
      { steps, seed },
      inputs,
      async ({ workDir }) => {
        const ckpt = join(workDir, 'checkpoint.json');
        let state = existsSync(ckpt)
          ? (JSON.parse(readFileSync(ckpt, 'utf8')) as { step: number; value: number })
          : { step: 0, value: seed };
        while (state.step < steps) {
          // A step: a hash-like update that depends on every earlier one.
          state = {
            step: state.step + 1,
            value: (state.value * 1103515245 + 12345 + state.step) % 2147483648,
          };
          writeFileAtomic(ckpt, JSON.stringify(state));
          say(`step ${name} ${state.step}`);
          await new Promise((r) => setTimeout(r, pauseMs));
        }
        writeFileSync(join(workDir, 'result.txt'), String(state.value));
        return { value: state.value };
      },
      () => {},
    );
  const a = await stage('first', 6, 7, {});
  const b = await stage('second', 6, a.summary.value, { first: a.hash });
  return { first: a.summary.value, second: b.summary.value };
}

if (process.argv[2]) {
  const out = await stepsPipeline(process.argv[2], Number(process.argv[3] ?? 200), (s) => console.log(s));
  console.log(`done ${JSON.stringify(out)}`);
}
