import { formatDuration, type ProgressStream, StatusLine } from '@mmesid/core';

/**
 * Training progress: on a terminal one status line redrawn in place (loss, examples/s, ETA of the
 * epoch); elsewhere (logs, pipes) a plain line at most every `intervalMs` (default 15 s). Epoch
 * summaries and messages are always printed as whole lines.
 */
export class TrainingProgress {
  private readonly status: StatusLine;
  private epochStart = 0;
  private steps = 0;
  private label = '';
  private readonly now: () => number;

  constructor(sink: ProgressStream | null, opts: { intervalMs?: number; now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
    this.status = new StatusLine(sink, {
      intervalMs: opts.intervalMs ?? (sink?.isTTY ? 200 : 15_000),
      now: this.now,
    });
  }

  /** Starts an epoch of `steps` batches. */
  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.epochStart = this.now();
    this.status.restart(true);
    this.steps = steps;
    this.label = `epoch ${epoch}/${epochs}`;
  }

  /** Reports that `done` batches are finished with running mean loss `loss` over `examples` positions. */
  step(done: number, loss: number, examples: number): void {
    const secs = Math.max(1e-3, (this.now() - this.epochStart) / 1000);
    const eta = (secs / done) * (this.steps - done);
    this.status.update(
      `${this.label} step ${done}/${this.steps} loss ${loss.toFixed(4)} ` +
        `${Math.round(examples / secs)} ex/s ETA ${formatDuration(eta)}`,
      { force: done >= this.steps },
    );
  }

  /** Prints a whole line (ending an in-place status line first). */
  line(text: string): void {
    this.status.line(text);
  }
}
