import { formatDuration, type ProgressStream, progressBar, StatusLine } from '@mmesid/core';

/** A progress event: `done` of `total` units (bytes, rows...) of the task `label`. */
export interface ProgressEvent {
  readonly label: string;
  readonly done: number;
  /** Unknown when the source does not say (e.g. no Content-Length). */
  readonly total?: number;
}

/** Where progress is written: anything with `write`, and `isTTY` when it is a terminal. */
export type { ProgressStream } from '@mmesid/core';

/** A progress printer: call `update` as work advances and `finish` once at the end. */
export interface ProgressPrinter {
  update(event: ProgressEvent): void;
  finish(event: ProgressEvent): void;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Prints byte progress the project's way: on a terminal a bar redrawn in place with rate and ETA;
 * elsewhere (CI logs, pipes) a plain line at most every `intervalMs` and at every 10 %.
 * `now` is injectable for tests; the default is `Date.now`.
 */
export function createProgressPrinter(
  stream: ProgressStream,
  options: { readonly intervalMs?: number; readonly now?: () => number } = {},
): ProgressPrinter {
  const now = options.now ?? Date.now;
  const status = new StatusLine(stream, {
    intervalMs: options.intervalMs ?? (stream.isTTY ? 100 : 5000),
    now,
  });
  const started = new Map<string, { t: number; done: number }>();
  const line = (e: ProgressEvent): string => {
    const s = started.get(e.label) ?? { t: now(), done: e.done };
    const secs = Math.max(1e-3, (now() - s.t) / 1000);
    const rate = (e.done - s.done) / secs;
    if (e.total === undefined || e.total <= 0) return `${e.label} ${bytes(e.done)} ${bytes(rate)}/s`;
    const f = Math.min(1, e.done / e.total);
    const eta = rate > 0 ? (e.total - e.done) / rate : Number.POSITIVE_INFINITY;
    const bar = status.tty ? ` ${progressBar(f)}` : '';
    return `${e.label}${bar} ${(f * 100).toFixed(1)}% ${bytes(e.done)}/${bytes(e.total)} ${bytes(rate)}/s ETA ${formatDuration(eta)}`;
  };
  return {
    update(e) {
      if (!started.has(e.label)) {
        started.set(e.label, { t: now(), done: e.done });
        status.restart();
      }
      status.update(line(e), e.total ? { fraction: e.done / e.total } : {});
    },
    finish(e) {
      status.finish(line(e));
      started.delete(e.label);
    },
  };
}
