/** Where progress is written: anything with `write`, and `isTTY` when it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

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

/** Formats seconds as `1h02m`, `3m05s` or `42s` (`?` when not finite). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const BAR = 24;

/** One progress line: bar (TTY only), percentage, counts, rate and ETA. */
export function formatProgress(p: EncodeProgress, tty: boolean): string {
  const f = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const bar = tty ? ` [${'#'.repeat(Math.round(f * BAR)).padEnd(BAR, '.')}]` : '';
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
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 200 : 10_000);
  let last: EncodeProgress | undefined;
  let printed: EncodeProgress | undefined;
  let lastPrint = Number.NEGATIVE_INFINITY;
  let lastDecile = -1;
  let open = false;
  return {
    update(p) {
      if (last && last.label !== p.label && open) {
        stream.write(tty ? '\n' : '');
        open = false;
        lastDecile = -1;
      }
      last = p;
      const t = now();
      const decile = p.total ? Math.floor((10 * p.done) / p.total) : 10;
      if (t - lastPrint < interval && decile === lastDecile) return;
      lastPrint = t;
      lastDecile = decile;
      stream.write(tty ? `\r${formatProgress(p, true)}\x1b[K` : `${formatProgress(p, false)}\n`);
      printed = p;
      open = tty;
    },
    finish() {
      if (!last) return;
      if (tty) stream.write(`\r${formatProgress(last, true)}\x1b[K\n`);
      else if (printed !== last) stream.write(`${formatProgress(last, false)}\n`);
      printed = last;
      open = false;
    },
  };
}
