import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { resolve } from 'node:path';
import { type LockWaitOptions, release, tryLock, waitForLock } from './lock.js';

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

/** A file of the run directory cannot be read or written; the message names it and what to do. */
export class RunDirError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
    this.name = 'RunDirError';
  }
}

const WRITE_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a parent of it is a file, not a directory',
  EEXIST: 'it already exists and is not a directory',
};

/** Wraps a failed write in a {@link RunDirError} naming the path (Node's ENOSPC names none). */
export function writeError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!code) return e as Error;
  return new RunDirError(path, `cannot write: ${WRITE_REASONS[code] ?? code} (${code})`, { cause: e });
}

function readRecord<S>(recordFile: string): StageRecord<S> {
  const text = readFileSync(recordFile, 'utf8');
  try {
    const rec = JSON.parse(text) as StageRecord<S>;
    if (rec && typeof rec === 'object' && typeof rec.hash === 'string' && 'summary' in rec) return rec;
  } catch (e) {
    throw new RunDirError(
      recordFile,
      `the stage record is not valid JSON (${(e as Error).message}); delete its folder to run the stage again`,
    );
  }
  throw new RunDirError(
    recordFile,
    'the stage record has no hash or summary; delete its folder to run the stage again',
  );
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
  return { ...readRecord<S>(recordFile), dir };
}

/**
 * Finished stages whose folder name starts with `prefix` (e.g. `finetune-`), read with the given
 * inputs and a config that equals `config` once `project` has removed what differs by design
 * (e.g. the variant name). Unreadable records are skipped: this only adds rows to a report.
 */
export function finishedStages<S>(
  runDir: string,
  prefix: string,
  inputs: Record<string, string>,
  project: (config: unknown) => unknown,
  config: unknown,
): (StageRecord<S> & { dir: string })[] {
  const out: (StageRecord<S> & { dir: string })[] = [];
  if (!existsSync(runDir)) return out;
  const want = stableStringify(config);
  const wantInputs = stableStringify(inputs);
  for (const stage of readdirSync(runDir)
    .filter((d) => d.startsWith(prefix))
    .sort()) {
    const base = resolve(runDir, stage);
    if (!statSync(base).isDirectory()) continue;
    for (const hash of readdirSync(base)) {
      const file = resolve(base, hash, 'stage.json');
      if (!/^[0-9a-f]{12}$/.test(hash) || !existsSync(file)) continue;
      let rec: StageRecord<S>;
      try {
        rec = readRecord<S>(file);
      } catch {
        continue;
      }
      if (stableStringify(rec.inputs) === wantInputs && stableStringify(project(rec.config)) === want)
        out.push({ ...rec, dir: resolve(base, hash) });
    }
  }
  return out;
}

/**
 * Runs a stage unless a finished copy with the same config and inputs exists. When another
 * process is running the same stage (same run directory and hash), waits for it to finish and
 * reuses its result, so several invocations can share one run directory (see `lock.ts` for how
 * a lock names its owner, when it is taken over and how long a run waits). The key is a hash
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
  lockOptions: LockWaitOptions = {},
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
  const what = `[${stage}] in ${runDir}`;
  const stageLog = (m: string) => log(`[${stage}] ${m}`);
  if (!tryLock(lockFile, what, stageLog)) {
    const got = await waitForLock(lockFile, () => existsSync(recordFile), what, stageLog, lockOptions);
    // Finished by the other process: read its record (no lock needed for that).
    if (got === 'done') return runStage(runDir, stage, config, inputs, fn, log, lockOptions);
  }
  try {
    // The other process may have finished between our look and our lock.
    const now = cachedStage<S>(runDir, stage, config, inputs);
    if (now) return { ...now, cached: true };
    return await runLocked({ dir, base, hash, stage, config, inputs }, fn, log);
  } finally {
    release(lockFile);
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
  writeFileAtomic(resolve(workDir, 'stage.json'), `${JSON.stringify(rec, null, 2)}\n`);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(workDir, dir);
  log(`[${stage}] done in ${rec.seconds.toFixed(1)} s`);
  return { ...rec, dir, cached: false };
}

/**
 * Writes a file atomically (temp file then rename); a failure names the path and leaves no
 * temporary file behind. @throws RunDirError
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}
