import { formatDuration, type ProgressStream, progressBar, StatusLine } from '@mmesid/core';

/** Where progress is written: anything with `write`, and `isTTY` when it is a terminal. */
export type { ProgressStream } from '@mmesid/core';

/** A snapshot of an encoding run, given to `onProgress` after every batch. */
export interface EncodeProgress {
  /** The encoder's name (or `name:backbone` for the backbone stage of a staged encoder). */
  readonly label: string;
  /** Items done so far, including those the cache already held. */
  readonly done: number;
  /** Items to do in total (the items passed in). */
  readonly total: number;
  /** Items encoded in this run (not read from the cache). */
  readonly encodedThisRun: number;
  /** Items that could not be encoded so far (missing images, empty titles). */
  readonly missing: number;
  /** Items per second encoded in this run. */
  readonly rate: number;
  /** Seconds left at the current rate (Infinity before the first batch). */
  readonly etaSeconds: number;
}

/** One progress line: bar (TTY only), percentage, counts, rate and ETA. */
export function formatProgress(p: EncodeProgress, tty: boolean): string {
  const f = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const bar = tty ? ` ${progressBar(f)}` : '';
  const missing = p.missing ? ` ${p.missing} missing` : '';
  const rate = p.rate >= 100 ? p.rate.toFixed(0) : p.rate >= 10 ? p.rate.toFixed(1) : p.rate.toFixed(2);
  return `${p.label}${bar} ${(f * 100).toFixed(1)}% ${p.done}/${p.total}${missing} ${rate} items/s ETA ${formatDuration(p.etaSeconds)}`;
}

/**
 * Prints encoding progress the project's way: on a terminal one bar redrawn in place; elsewhere (CI
 * logs, pipes) a plain line at most every `intervalMs` (default 10 s) and at every 10 %. Returns the
 * callback to pass as `onProgress`, plus `finish` for the last line.
 *
 * @example
 * const bar = progressPrinter(process.stderr);
 * await encodeItems(items, enc, { cacheFile, onProgress: bar.update });
 * bar.finish();
 */
export function progressPrinter(
  stream: ProgressStream,
  options: { intervalMs?: number; now?: () => number } = {},
): { update: (p: EncodeProgress) => void; finish: () => void } {
  const status = new StatusLine(stream, {
    intervalMs: options.intervalMs ?? (stream.isTTY ? 200 : 10_000),
    ...(options.now ? { now: options.now } : {}),
  });
  let last: EncodeProgress | undefined;
  return {
    update(p) {
      if (last && last.label !== p.label) status.restart();
      last = p;
      status.update(formatProgress(p, status.tty), { fraction: p.total ? p.done / p.total : 1 });
    },
    finish() {
      if (last) status.finish(formatProgress(last, status.tty));
    },
  };
}
