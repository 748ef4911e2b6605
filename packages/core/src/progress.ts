/**
 * Progress printing, the project's way (DESIGN: "a bar with rate and ETA on a TTY, plain lines
 * otherwise"). Each package decides what its line says (bytes of a download, items encoded, the
 * loss of a training step); how the line reaches the user is decided here, once: redrawn in place
 * on a terminal, a plain throttled line in logs and pipes.
 */

/** Where progress is written: anything with `write`, and `isTTY` when it is a terminal (`process.stderr`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * Formats seconds as `1h02m`, `3m05s` or `42s` (rounded to the second first), or `?` when the
 * value is not finite or negative (an ETA before the first measurement).
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** A text bar `[######..........]` of `width` cells for a fraction in [0, 1] (clamped). */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return `[${'#'.repeat(Math.round(f * width)).padEnd(width, '.')}]`;
}

/** Options of {@link StatusLine}. */
export interface StatusLineOptions {
  /**
   * The least time between two status lines, in ms. Default 200 on a terminal, 10 000 elsewhere
   * (a CI log gets a line every 10 s, not one per batch).
   */
  readonly intervalMs?: number;
  /** The clock, injectable for tests; default `Date.now`. */
  readonly now?: () => number;
}

/**
 * One status line. On a terminal each status redraws the line in place (`\r...ESC[K`); elsewhere
 * each status is a plain line. Statuses are throttled: one is shown when `intervalMs` has passed
 * since the last, when its `fraction` entered a new tenth (so a log shows every 10 %), when forced,
 * and always the first after {@link StatusLine.restart}. Whole lines ({@link StatusLine.line})
 * are never throttled. A `null` stream prints nothing.
 *
 * @example
 * const status = new StatusLine(process.stderr);
 * for (let i = 0; i < n; i++) status.update(`step ${i + 1}/${n} ${progressBar((i + 1) / n)}`, { fraction: (i + 1) / n });
 * status.finish(`done ${n} steps`);
 */
export class StatusLine {
  /** True when the stream is a terminal (statuses are redrawn in place). */
  readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;
  private lastPrint = Number.NEGATIVE_INFINITY;
  private lastTenth = Number.NaN;
  private lastText: string | undefined;
  private open = false;

  constructor(
    private readonly stream: ProgressStream | null,
    options: StatusLineOptions = {},
  ) {
    this.tty = stream?.isTTY === true;
    this.interval = options.intervalMs ?? (this.tty ? 200 : 10_000);
    this.now = options.now ?? Date.now;
  }

  /**
   * Shows `text` as the current status when the throttle allows (see the class). Returns whether
   * it was shown.
   * @param opts.fraction how far the task is, in [0, 1]: a new tenth is always shown
   * @param opts.force show it whatever the throttle says
   */
  update(text: string, opts: { fraction?: number; force?: boolean } = {}): boolean {
    if (!this.stream) return false;
    const t = this.now();
    const tenth = opts.fraction === undefined ? Number.NaN : Math.floor(10 * opts.fraction);
    const newTenth = opts.fraction !== undefined && tenth !== this.lastTenth;
    if (!opts.force && !newTenth && t - this.lastPrint < this.interval) return false;
    this.lastPrint = t;
    if (opts.fraction !== undefined) this.lastTenth = tenth;
    this.lastText = text;
    if (this.tty) {
      this.stream.write(`\r${text}\x1b[K`);
      this.open = true;
    } else this.stream.write(`${text}\n`);
    return true;
  }

  /** Prints a whole line (ending an in-place status first); never throttled. */
  line(text: string): void {
    if (!this.stream) return;
    this.stream.write(this.tty ? `\r${text}\x1b[K\n` : `${text}\n`);
    this.open = false;
  }

  /**
   * Shows the final status of a task as a whole line: on a terminal always; elsewhere unless the
   * last status shown was this very text.
   */
  finish(text: string): void {
    if (!this.stream) return;
    if (this.tty || text !== this.lastText) this.line(text);
    this.open = false;
    this.lastText = text;
  }

  /**
   * Starts a new task: ends an open in-place status with a newline and resets the throttle, so the
   * next status is shown at once, or, with `quiet`, only after a full interval from now.
   */
  restart(quiet = false): void {
    if (this.open) this.stream?.write('\n');
    this.open = false;
    this.lastPrint = quiet ? this.now() : Number.NEGATIVE_INFINITY;
    this.lastTenth = Number.NaN;
    this.lastText = undefined;
  }
}
