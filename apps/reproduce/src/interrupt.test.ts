/**
 * Interruption matrix of the stage machinery: a pipeline of two checkpointing stages is killed
 * (SIGINT and SIGKILL) at steps inside each stage, then resumed; the results must equal those of
 * an uninterrupted run, a moved copy of an interrupted run directory must resume, and two
 * invocations on one directory must do each step's work once between them. The training loops'
 * own bit-identical resume is tested in @mmesid/fusion (trainMmeSid) and the stage wiring of the
 * real pipeline by `pnpm reproduce` runs; this covers what `runStage` adds: locks, `.partial`
 * folders and records.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeScript } from './__fixtures__/node-script.js';
import { stepsPipeline } from './__fixtures__/steps-stage.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = join(here, '__fixtures__/steps-stage.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'reproduce-interrupt-'));
  dirs.push(d);
  return d;
}

/** Runs the pipeline in a child and kills it with `signal` once it printed `step <stage> <k>`. */
function runAndKill(runDir: string, stage: string, k: number, signal: NodeJS.Signals): Promise<string[]> {
  return new Promise((res, rej) => {
    const s = nodeScript(script, [runDir, '150']);
    const child = spawn(s.cmd, s.args, { cwd: s.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (l === `step ${stage} ${k}`) child.kill(signal);
      }
    });
    child.on('error', rej);
    child.on('exit', () => res(lines));
  });
}

const lockFiles = (runDir: string) =>
  ['first', 'second'].flatMap((s) =>
    existsSync(join(runDir, s)) ? readdirSync(join(runDir, s)).filter((f) => f.endsWith('.lock')) : [],
  );

describe('interrupted pipelines resume to the uninterrupted result', async () => {
  const straight = await stepsPipeline(tmp(), 0, () => {});

  const matrix: [NodeJS.Signals, string, number][] = [
    ['SIGINT', 'first', 2],
    ['SIGKILL', 'first', 5],
    ['SIGINT', 'second', 3],
    ['SIGKILL', 'second', 1],
  ];
  it.each(matrix)(
    '%s during stage %s after step %i, then resumed',
    async (signal, stage, k) => {
      const runDir = tmp();
      const lines = await runAndKill(runDir, stage, k, signal);
      expect(lines).toContain(`step ${stage} ${k}`);
      expect(lines.some((l) => l.startsWith('done'))).toBe(false);
      // SIGINT releases the lock; SIGKILL leaves it, and the resume takes it over (its pid is dead).
      expect(lockFiles(runDir).length).toBe(signal === 'SIGINT' ? 0 : 1);
      const steps: string[] = [];
      const resumed = await stepsPipeline(runDir, 0, (s) => steps.push(s));
      expect(resumed).toEqual(straight);
      // Only the steps after the last checkpoint ran again.
      expect(steps[0]).toBe(`step ${stage} ${k + 1}`);
      expect(lockFiles(runDir)).toEqual([]);
    },
    60_000,
  );

  it('a moved copy of an interrupted run directory resumes to the same result', async () => {
    const runDir = tmp();
    await runAndKill(runDir, 'second', 2, 'SIGKILL');
    const moved = join(tmp(), 'elsewhere');
    cpSync(runDir, moved, { recursive: true });
    rmSync(runDir, { recursive: true, force: true });
    const steps: string[] = [];
    expect(await stepsPipeline(moved, 0, (s) => steps.push(s))).toEqual(straight);
    expect(steps[0]).toBe('step second 3');
  }, 60_000);

  it('two invocations on one run directory: each step runs once, both get the result', async () => {
    const runDir = tmp();
    const child = new Promise<string[]>((res) => {
      const s = nodeScript(script, [runDir, '100']);
      const c = spawn(s.cmd, s.args, { cwd: s.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.on('exit', () => res(out.split('\n').filter(Boolean)));
    });
    // Start the second once the first holds the first stage's lock.
    for (let i = 0; i < 600 && lockFiles(runDir).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    const mine: string[] = [];
    const [theirs, ours] = await Promise.all([child, stepsPipeline(runDir, 0, (s) => mine.push(s))]);
    expect(ours).toEqual(straight);
    expect(theirs.at(-1)).toBe(`done ${JSON.stringify(straight)}`);
    const all = [...theirs.filter((l) => l.startsWith('step')), ...mine];
    expect(all.length).toBe(12);
    expect(new Set(all).size).toBe(12);
  }, 60_000);
});
