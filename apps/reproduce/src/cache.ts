import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { resolve } from 'node:path';

/** Stable JSON (sorted keys) so that equal configs hash equally. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

export function hashOf(v: unknown): string {
  return createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 12);
}

export interface StageRecord<S> {
  stage: string;
  hash: string;
  config: unknown;
  inputs: Record<string, string>;
  summary: S;
  startedAt: string;
  finishedAt: string;
  seconds: number;
}

export interface StageContext {
  /** The folder the stage writes into. It persists across interrupted runs (`<hash>.partial`), so a
   * stage can keep checkpoints there and resume; it becomes `<hash>/` once the stage finishes. */
  workDir: string;
  log: (msg: string) => void;
}

/** The finished record of a stage with this config and inputs, or undefined (nothing is run). */
export function cachedStage<S>(
  runDir: string,
  stage: string,
  config: unknown,
  inputs: Record<string, string>,
): (StageRecord<S> & { dir: string }) | undefined {
  const hash = hashOf({ stage, config, inputs });
  const dir = resolve(runDir, stage, hash);
  const recordFile = resolve(dir, 'stage.json');
  if (!existsSync(recordFile)) return undefined;
  return { ...(JSON.parse(readFileSync(recordFile, 'utf8')) as StageRecord<S>), dir };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<stage>/<hash>.lock` (exclusive create, holding this process's pid). Returns false when
 * another live process holds it; a lock left by a dead process is taken over.
 */
function tryLock(lockFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) return false;
      rmSync(lockFile, { force: true });
    }
  }
  return false;
}

/**
 * Runs a stage unless a finished copy with the same config and inputs exists. When another
 * process is running the same stage (same run directory and hash), waits for it to finish and
 * reuses its result, so several invocations can share one run directory. The key is a hash
 * of the stage name, its config and the hashes of the stages it reads, so changing anything
 * upstream re-runs everything downstream, and re-running an unchanged pipeline skips to the end.
 */
export async function runStage<S>(
  runDir: string,
  stage: string,
  config: unknown,
  inputs: Record<string, string>,
  fn: (ctx: StageContext) => Promise<S>,
  log: (msg: string) => void,
): Promise<StageRecord<S> & { dir: string; cached: boolean }> {
  const hash = hashOf({ stage, config, inputs });
  const base = resolve(runDir, stage);
  const dir = resolve(base, hash);
  const recordFile = resolve(dir, 'stage.json');
  const done = cachedStage<S>(runDir, stage, config, inputs);
  if (done) {
    log(`[${stage}] cached (${hash}), finished ${done.finishedAt}`);
    return { ...done, cached: true };
  }
  mkdirSync(base, { recursive: true });
  const lockFile = resolve(base, `${hash}.lock`);
  if (!tryLock(lockFile)) {
    log(`[${stage}] another process is running it (${lockFile}); waiting`);
    while (!existsSync(recordFile)) {
      await new Promise((r) => setTimeout(r, 5000));
      if (!existsSync(recordFile) && tryLock(lockFile)) break;
    }
    // Finished by the other process: read its record (no lock needed for that).
    if (existsSync(recordFile)) return runStage(runDir, stage, config, inputs, fn, log);
  }
  try {
    return await runLocked({ dir, base, hash, stage, config, inputs }, fn, log);
  } finally {
    rmSync(lockFile, { force: true });
  }
}

interface LockedStage {
  dir: string;
  base: string;
  hash: string;
  stage: string;
  config: unknown;
  inputs: Record<string, string>;
}

async function runLocked<S>(
  { dir, base, hash, stage, config, inputs }: LockedStage,
  fn: (ctx: StageContext) => Promise<S>,
  log: (msg: string) => void,
): Promise<StageRecord<S> & { dir: string; cached: boolean }> {
  const workDir = resolve(base, `${hash}.partial`);
  const resumed = existsSync(workDir);
  mkdirSync(workDir, { recursive: true });
  log(`[${stage}] ${resumed ? 'resuming' : 'starting'} (${hash})`);
  const startedAt = new Date();
  const summary = await fn({ workDir, log: (m) => log(`[${stage}] ${m}`) });
  const finishedAt = new Date();
  const rec: StageRecord<S> = {
    stage,
    hash,
    config,
    inputs,
    summary,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
  };
  writeFileSync(resolve(workDir, 'stage.json'), `${JSON.stringify(rec, null, 2)}\n`);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(workDir, dir);
  log(`[${stage}] done in ${rec.seconds.toFixed(1)} s`);
  return { ...rec, dir, cached: false };
}

/** Writes a file atomically (temp file then rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
