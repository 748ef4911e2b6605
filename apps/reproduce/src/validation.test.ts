import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeScript } from './__fixtures__/node-script.js';
import { cachedStage, finishedStages, hashOf, RunDirError, writeFileAtomic } from './cache.js';
import { parseCli, UsageError } from './cli.js';

/**
 * Runs a command without blocking this worker (a `spawnSync` of a CLI start blocks the event loop
 * for its whole run, and vitest's worker RPC times out after 60 s of that on a busy machine).
 */
function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  cwd?: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (status) => {
      clearTimeout(timer);
      res({ status, stdout, stderr });
    });
  });
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'reproduce-valid-'));
  dirs.push(d);
  return d;
}

function usage(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`parseCli accepted ${argv.join(' ')}`);
}

describe('every option is checked before any stage starts', () => {
  it('rejects an unknown variant, naming it and the known ones', () => {
    expect(usage(['--variants', 'Foo', '--out', tmp()])).toMatch(
      /--variants: unknown "Foo"; known: SASRec, .*MME-SID.*w\/o-Fusion/,
    );
    expect(parseCli(['--variants', 'SASRec,w/o-Fusion,w/o Fusion', '--out', tmp()])).toMatchObject({
      variants: ['SASRec', 'w/o-Fusion', 'w/o Fusion'],
    });
  });

  it('rejects an empty or non-decimal number instead of reading 0 or 1000', () => {
    expect(usage(['--seed=', '--out', tmp()])).toMatch(/--seed must be a non-negative integer, got ""/);
    expect(usage(['--seed', '1e3', '--out', tmp()])).toMatch(
      /--seed must be a non-negative integer, got "1e3"/,
    );
    expect(usage(['--seed', '0x10', '--out', tmp()])).toMatch(/--seed/);
    expect(usage(['--max-train-examples', ' 5', '--out', tmp()])).toMatch(/--max-train-examples/);
    expect(usage(['--lock-wait', '0', '--out', tmp()])).toMatch(/lockWait/);
  });

  it('rejects a list that names nothing', () => {
    expect(usage(['--variants', ',', '--out', tmp()])).toMatch(/--variants names nothing/);
    expect(usage(['--stages', ' , ', '--out', tmp()])).toMatch(/--stages names nothing/);
  });

  it('rejects --data-dir with the synthetic dataset (it would be ignored)', () => {
    expect(usage(['--dataset', 'synthetic', '--data-dir', tmp(), '--out', tmp()])).toMatch(
      /--data-dir .* is not read with --dataset synthetic/,
    );
  });

  it('reads --data-dir alone as a custom dataset, and names what the folder lacks before any stage', () => {
    expect(usage(['--data-dir', tmp(), '--out', tmp()])).toMatch(/--data-dir .*: no sequences\.txt/);
  });

  it('rejects an --out that is a file or cannot be created, naming the path', () => {
    const d = tmp();
    const file = join(d, 'a-file');
    writeFileSync(file, 'x');
    expect(usage(['--out', file])).toBe(`--out ${file}: ${file} is a file, not a directory`);
    expect(usage(['--out', join(file, 'run')])).toBe(
      `--out ${join(file, 'run')}: cannot create or write ${join(file, 'run')}: ${file} is a file (ENOTDIR)`,
    );
    expect(usage(['--out', '/proc/no-such/run'])).toMatch(/cannot create or write \/proc\/no-such/);
    // A valid run directory is created (and nothing else is written into it).
    const ok = join(d, 'new', 'run');
    parseCli(['--out', ok]);
    expect(readdirSync(ok)).toEqual([]);
  });

  it('the CLI exits 2 on a bad option without creating any stage folder', async () => {
    const out = tmp();
    const s = nodeScript('src/main.ts', ['--variants', 'Foo', '--out', out]);
    const r = await run(s.cmd, s.args, 60_000, s.cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/reproduce: --variants: unknown "Foo"/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);
});

/**
 * A read-only `--out`. Root ignores permission bits, so for root the folder is a read-only tmpfs
 * mounted in a private mount namespace (`unshare -m`: the mount exists only for that child and
 * vanishes with it); another user gets a 0555 folder. Skipped, with the reason, where neither works.
 */
const readOnly = (() => {
  if (process.platform !== 'linux') return { skip: 'not Linux' };
  if (process.getuid?.() !== 0) return { mode: 'chmod' as const };
  const r = spawnSync(
    'unshare',
    ['-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs /mnt && ! touch /mnt/x 2>/dev/null'],
    {
      encoding: 'utf8',
    },
  );
  return r.status === 0
    ? { mode: 'mount' as const }
    : {
        skip: `root, and cannot mount a read-only tmpfs in a private namespace (${(r.stderr || r.error?.message || '').trim()})`,
      };
})();

describe('a read-only --out', () => {
  it.skipIf('skip' in readOnly)(
    `exits 2 naming the folder and "read-only" / "permission denied", before any stage${'skip' in readOnly ? ` (skipped: ${readOnly.skip})` : ''}`,
    async () => {
      const ro = join(tmp(), 'ro');
      mkdirSync(ro);
      const main = nodeScript('src/main.ts');
      // Two invocations: a run folder to be created inside the read-only one, and the folder itself.
      const cli = 'ro=$1; shift; for out in "$ro/new/run" "$ro"; do "$@" --out "$out"; echo "rc=$?"; done';
      const script = readOnly.mode === 'mount' ? `mount -t tmpfs -o ro tmpfs "$1" && ${cli}` : cli;
      if (readOnly.mode === 'chmod') chmodSync(ro, 0o555);
      const r = await run(
        readOnly.mode === 'mount' ? 'unshare' : 'sh',
        [...(readOnly.mode === 'mount' ? ['-m', 'sh'] : []), '-c', script, 'sh', ro, main.cmd, ...main.args],
        120_000,
        main.cwd,
      );
      if (readOnly.mode === 'chmod') chmodSync(ro, 0o755);
      expect(r.stdout.match(/rc=\d+/g), r.stderr).toEqual(['rc=2', 'rc=2']);
      const why =
        readOnly.mode === 'mount'
          ? 'the file system is read-only \\(EROFS\\)'
          : 'permission denied \\(EACCES\\)';
      expect(r.stderr).toMatch(new RegExp(`--out ${ro}/new/run: cannot create or write ${ro}/new: ${why}`));
      expect(r.stderr).toMatch(
        new RegExp(`--out ${ro}: cannot create or write ${ro}/\\.write-test-\\d+: ${why}`),
      );
      expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
      expect(readdirSync(ro)).toEqual([]);
    },
    120_000,
  );
});

describe('run-directory files fail with their path', () => {
  it.skipIf(!existsSync('/dev/full'))('a full disk names the file being written', () => {
    const d = tmp();
    const target = join(d, 'results.json');
    symlinkSync('/dev/full', `${target}.tmp-${process.pid}`);
    let err: unknown;
    try {
      writeFileAtomic(target, 'x'.repeat(10000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RunDirError);
    expect((err as Error).message).toBe(`${target}: cannot write: no space left on the device (ENOSPC)`);
    expect(existsSync(target)).toBe(false);
  });

  it('a truncated stage record is a RunDirError naming it, not a bare SyntaxError', () => {
    const d = tmp();
    const hash = hashOf({ stage: 's', config: {}, inputs: {} });
    mkdirSync(join(d, 's', hash), { recursive: true });
    writeFileSync(join(d, 's', hash, 'stage.json'), '{"stage": "s", "hash": "ab');
    expect(() => cachedStage(d, 's', {}, {})).toThrow(RunDirError);
    expect(() => cachedStage(d, 's', {}, {})).toThrow(
      new RegExp(`${join(d, 's', hash, 'stage.json')}: the stage record is not valid JSON`),
    );
  });

  it('finishedStages finds the variants earlier invocations finished with the same inputs and settings', () => {
    const d = tmp();
    const put = (
      stage: string,
      config: Record<string, unknown>,
      inputs: Record<string, string>,
      v: string,
    ) => {
      const hash = hashOf({ stage, config, inputs });
      mkdirSync(join(d, stage, hash), { recursive: true });
      writeFileSync(
        join(d, stage, hash, 'stage.json'),
        JSON.stringify({
          stage,
          hash,
          config,
          inputs,
          summary: { variant: v },
          startedAt: '',
          finishedAt: '',
          seconds: 1,
        }),
      );
    };
    const inputs = { rqvae: 'r1' };
    put('finetune-E4SRec', { variant: 'E4SRec', lr: 1 }, inputs, 'E4SRec');
    put('finetune-MME-SID', { variant: 'MME-SID', lr: 1 }, inputs, 'MME-SID');
    put('finetune-MME-SID', { variant: 'MME-SID', lr: 2 }, inputs, 'MME-SID (other lr)');
    put('finetune-ME', { variant: 'ME', lr: 1 }, { rqvae: 'r2' }, 'ME (other rqvae)');
    const found = finishedStages<{ variant: string }>(
      d,
      'finetune-',
      inputs,
      (c) => {
        const { variant: _v, ...rest } = c as Record<string, unknown>;
        return rest;
      },
      { lr: 1 },
    ).map((r) => r.summary.variant);
    expect(found.sort()).toEqual(['E4SRec', 'MME-SID']);
  });
});
