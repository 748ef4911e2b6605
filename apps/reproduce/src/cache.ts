import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Runs a stage unless a finished copy with the same config and inputs exists. The key is a hash
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
  if (existsSync(recordFile)) {
    const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as StageRecord<S>;
    log(`[${stage}] cached (${hash}), finished ${rec.finishedAt}`);
    return { ...rec, dir, cached: true };
  }
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
