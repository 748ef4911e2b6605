/** Child processes whose output a failing check prints in full. */
import { execFile } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` in `cwd`; resolves with the exit code and output (never rejects on a non-zero exit). */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        maxBuffer: 64 << 20,
        timeout: opts.timeoutMs ?? 300_000,
      },
      (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') {
          reject(new Error(`${cmd} ${args.join(' ')} failed to run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? Number((err as { code: number }).code) : 0, stdout, stderr });
      },
    );
  });
}

/** Like {@link run}, but throws with the command's output when it exits non-zero. */
export async function runOk(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ExecResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `\`${cmd} ${args.join(' ')}\` in ${opts.cwd} exited with ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  return r;
}
