import { resolve } from 'node:path';

/** One invocation of `bench:study` that wrote a study file (several can share one `--out`). */
export interface Invocation {
  startedAt: string;
  seconds: number;
  /** The `--variants` it ran (the others came from earlier invocations' finished stages). */
  variants?: string;
  loadAverage?: { start: number[]; end: number[] };
  note?: string;
}

/** The `--out` a study file was made with: its `out` field, else the `--out` of its command. */
export function studyOut(
  previous: { out?: unknown; command?: unknown },
  repoRoot: string,
): string | undefined {
  if (typeof previous.out === 'string') return resolve(repoRoot, previous.out);
  const m = typeof previous.command === 'string' ? /(?:^|\s)--out[= ](\S+)/.exec(previous.command) : null;
  return m ? resolve(repoRoot, m[1]!) : undefined;
}

/**
 * The invocations recorded by the previous study file of the same name, when it was made on the
 * same `--out` (so this invocation reused its finished stages); else none. A file written before
 * invocations were listed gives one entry: its recorded wall time from `startedAt`, which may span
 * several invocations (the note says so).
 */
export function earlierInvocations(
  previous: Record<string, unknown> | undefined,
  out: string,
  repoRoot: string,
): Invocation[] {
  if (!previous || studyOut(previous, repoRoot) !== resolve(repoRoot, out)) return [];
  if (Array.isArray(previous.invocations)) return previous.invocations as Invocation[];
  if (typeof previous.startedAt !== 'string' || typeof previous.wallSeconds !== 'number') return [];
  const machine = previous.machine as { loadAverage?: Invocation['loadAverage'] } | undefined;
  const variants = /--variants[= ](\S+)/.exec(String(previous.command ?? ''))?.[1];
  return [
    {
      startedAt: previous.startedAt,
      seconds: previous.wallSeconds,
      ...(variants ? { variants } : {}),
      ...(machine?.loadAverage ? { loadAverage: machine.loadAverage } : {}),
      note: 'recorded before invocations were listed: the wall time from its start to the end of its last invocation (it may span several, and gaps between them)',
    },
  ];
}

/** "05:24Z 84.0 min (SASRec,E4SRec; load 4.8 -> 4.7)" per invocation, for the report's header. */
export function describeInvocations(list: readonly Invocation[]): string {
  return list
    .map((v) => {
      const t = v.startedAt.replace(/^\d{4}-\d\d-\d\dT(\d\d:\d\d).*$/, '$1Z');
      const load = v.loadAverage
        ? `; load ${v.loadAverage.start[0]?.toFixed(1)} -> ${v.loadAverage.end[0]?.toFixed(1)}`
        : '';
      return `${v.startedAt.slice(0, 10)} ${t} ${(v.seconds / 60).toFixed(1)} min (${v.variants ?? 'variants not recorded'}${load})`;
    })
    .join('; ');
}
