import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeScript } from './__fixtures__/node-script.js';
import { hashOf, runStage } from './cache.js';
import { LockWaitError, parseLock, processStartTicks } from './lock.js';

const here = dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'reproduce-lock-'));
  dirs.push(d);
  return d;
}

/** An unrelated live process (its pid is what a stale lock may name after pid reuse). */
async function sleeper(): Promise<ChildProcess> {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c;
}

function lockPath(runDir: string, stage: string, config: unknown): string {
  mkdirSync(join(runDir, stage), { recursive: true });
  return join(runDir, stage, `${hashOf({ stage, config, inputs: {} })}.lock`);
}

const linux = existsSync('/proc/self/stat');

describe('stage locks', () => {
  it.skipIf(!linux)(
    'an old bare-pid lock whose pid now belongs to an unrelated process started later is taken over',
    async () => {
      const runDir = tmp();
      const lock = lockPath(runDir, 's', { a: 1 });
      writeFileSync(lock, '12345');
      const past = new Date(Date.now() - 60_000);
      utimesSync(lock, past, past);
      const other = await sleeper();
      writeFileSync(lock, String(other.pid));
      utimesSync(lock, past, past);
      const lines: string[] = [];
      let ran = 0;
      const rec = await runStage(
        runDir,
        's',
        { a: 1 },
        {},
        async () => ({ ran: ++ran }),
        (m) => lines.push(m),
        { maxWaitMs: 2000, pollMs: 50 },
      );
      expect(ran).toBe(1);
      expect(rec.summary).toEqual({ ran: 1 });
      expect(lines.join('\n')).toMatch(
        /taking over .*\.lock from pid \d+ \(old-format lock\): pid \d+ now belongs to a process started after/,
      );
      expect(existsSync(lock)).toBe(false);
    },
    10_000,
  );

  it.skipIf(!linux)(
    'a lock naming a live pid with another start time (pid reuse) is taken over at once',
    async () => {
      const runDir = tmp();
      const lock = lockPath(runDir, 's', { a: 2 });
      const other = await sleeper();
      const ticks = processStartTicks(other.pid!)!;
      writeFileSync(
        lock,
        JSON.stringify({
          pid: other.pid,
          startTicks: ticks - 1000,
          host: hostname(),
          token: 'x',
          since: 'then',
        }),
      );
      const lines: string[] = [];
      const rec = await runStage(
        runDir,
        's',
        { a: 2 },
        {},
        async () => 7,
        (m) => lines.push(m),
        {
          maxWaitMs: 1000,
          pollMs: 50,
        },
      );
      expect(rec.summary).toBe(7);
      expect(lines.join('\n')).toMatch(/pid \d+ is now another process/);
    },
  );

  it.skipIf(!linux)(
    'a run waiting for a live owner says what it waits for and gives up after its bound',
    async () => {
      const runDir = tmp();
      const lock = lockPath(runDir, 's', { a: 3 });
      const other = await sleeper();
      writeFileSync(
        lock,
        JSON.stringify({
          pid: other.pid,
          startTicks: processStartTicks(other.pid!),
          host: hostname(),
          token: 'theirs',
          since: '2026-01-01T00:00:00Z',
          what: '[s] elsewhere',
        }),
      );
      const lines: string[] = [];
      let ran = false;
      const p = runStage(
        runDir,
        's',
        { a: 3 },
        {},
        async () => {
          ran = true;
          return 0;
        },
        (m) => lines.push(m),
        { maxWaitMs: 400, pollMs: 50 },
      );
      await expect(p).rejects.toBeInstanceOf(LockWaitError);
      await expect(p).rejects.toThrow(
        new RegExp(
          `gave up after .* waiting for ${lock.replace(/[.]/g, '\\.')}, held by pid ${other.pid} on .*--lock-wait`,
        ),
      );
      expect(ran).toBe(false);
      expect(lines.join('\n')).toContain(`waiting for pid ${other.pid} on ${hostname()}, [s] elsewhere`);
      // Not ours: left alone.
      expect(parseLock(readFileSync(lock, 'utf8'))).toMatchObject({ token: 'theirs' });
    },
  );

  it("two invocations on one run directory: the second waits and reuses the first one's result", async () => {
    const runDir = tmp();
    let runs = 0;
    const slow = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 300));
      return { v: 1 };
    };
    const opts = { maxWaitMs: 10_000, pollMs: 20 };
    const [a, b] = await Promise.all([
      runStage(runDir, 's', { a: 4 }, {}, slow, () => {}, opts),
      runStage(runDir, 's', { a: 4 }, {}, slow, () => {}, opts),
    ]);
    expect(runs).toBe(1);
    expect(a.summary).toEqual({ v: 1 });
    expect(b.summary).toEqual({ v: 1 });
    expect([a.cached, b.cached].sort()).toEqual([false, true]);
  });

  it.skipIf(!linux)(
    'SIGINT releases the lock of the stage being run',
    async () => {
      const runDir = tmp();
      const s = nodeScript(join(here, '__fixtures__/hold-stage.ts'), [runDir]);
      const child = spawn(s.cmd, s.args, { cwd: s.cwd, stdio: 'ignore' });
      children.push(child);
      const lock = join(runDir, 'held', `${hashOf({ stage: 'held', config: { n: 1 }, inputs: {} })}.lock`);
      for (let i = 0; i < 300 && !existsSync(join(runDir, 'started')); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(lock)).toBe(true);
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, sig) => r(sig)));
      child.kill('SIGINT');
      await exited;
      expect(existsSync(lock)).toBe(false);
      // The partial work stays for a resume.
      expect(readdirSync(join(runDir, 'held')).some((f) => f.endsWith('.partial'))).toBe(true);
    },
    40_000,
  );
});
