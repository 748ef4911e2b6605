/** Where training progress goes: anything with `write`, and `isTTY` when it is a terminal. */
export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/**
 * Training progress the project's way: on a terminal one status line redrawn in place (loss,
 * examples/s, ETA of the epoch); elsewhere (logs, pipes) a plain line at most every `intervalMs`.
 * Epoch summaries and messages are always printed as whole lines.
 */
export class TrainingProgress {
  private epochStart = 0;
  private lastPrint = 0;
  private steps = 0;
  private label = '';
  private readonly interval: number;

  constructor(
    private readonly sink: ProgressSink | null,
    private readonly opts: { intervalMs?: number; now?: () => number } = {},
  ) {
    this.interval = opts.intervalMs ?? (sink?.isTTY ? 200 : 15_000);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Starts an epoch of `steps` batches. */
  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.epochStart = this.now();
    this.lastPrint = this.epochStart;
    this.steps = steps;
    this.label = `epoch ${epoch}/${epochs}`;
  }

  /** Reports that `done` batches are finished with running mean loss `loss` over `examples` positions. */
  step(done: number, loss: number, examples: number): void {
    if (!this.sink) return;
    const t = this.now();
    if (t - this.lastPrint < this.interval && done < this.steps) return;
    this.lastPrint = t;
    const secs = Math.max(1e-3, (t - this.epochStart) / 1000);
    const eta = (secs / done) * (this.steps - done);
    const text =
      `${this.label} step ${done}/${this.steps} loss ${loss.toFixed(4)} ` +
      `${Math.round(examples / secs)} ex/s ETA ${formatDuration(eta)}`;
    if (this.sink.isTTY) this.sink.write(`\r${text}\x1b[K`);
    else this.sink.write(`${text}\n`);
  }

  /** Prints a whole line (ending an in-place status line first). */
  line(text: string): void {
    if (!this.sink) return;
    this.sink.write(this.sink.isTTY ? `\r${text}\x1b[K\n` : `${text}\n`);
  }
}
