import { formatDuration, type ProgressStream, progressBar, StatusLine } from '@mmesid/core';

/** One epoch's figures, passed to `onEpoch` and printed by the default progress printer. */
export interface EpochReport {
  /** 0-based epoch just finished. */
  epoch: number;
  maxEpochs: number;
  /** Mean total loss over the epoch's items. */
  loss: number;
  /** Mean parts of the loss, each unweighted, summed over modalities. */
  reconstruction: number;
  quantization: number;
  alignment: number;
  bestLoss: number;
  bestEpoch: number;
  /** Seconds of training so far. */
  seconds: number;
  /** Items per second over this epoch. */
  itemsPerSecond: number;
  /** Estimated seconds left to `maxEpochs` at this epoch's pace (early stopping may end sooner). */
  etaSeconds: number;
}

/** The line the default printer writes for an epoch. */
export function formatEpoch(r: EpochReport, label = 'rqvae'): string {
  const width = String(r.maxEpochs).length;
  return (
    `[${label}] epoch ${String(r.epoch + 1).padStart(width)}/${r.maxEpochs} ` +
    `loss ${r.loss.toFixed(5)} (recon ${r.reconstruction.toFixed(5)}, quant ${r.quantization.toFixed(5)}, align ${r.alignment.toFixed(5)}) ` +
    `best ${r.bestLoss.toFixed(5)}@${r.bestEpoch + 1} ${Math.round(r.itemsPerSecond)} items/s ` +
    `elapsed ${formatDuration(r.seconds)} eta<=${formatDuration(r.etaSeconds)}`
  );
}

/**
 * A progress printer: on a TTY one line rewritten in place with a bar; otherwise a plain line
 * every `every` epochs (and the last). Writes to `process.stdout` (nothing where there is none).
 */
export function progressPrinter(opts: {
  every: number;
  label?: string;
}): (r: EpochReport, last: boolean) => void {
  const out = (globalThis as { process?: { stdout?: ProgressStream } }).process?.stdout ?? null;
  const status = new StatusLine(out, { intervalMs: out?.isTTY ? 0 : Number.POSITIVE_INFINITY });
  return (r, last) => {
    if (opts.every === 0) return;
    const line = formatEpoch(r, opts.label);
    const text = status.tty ? `${progressBar((r.epoch + 1) / r.maxEpochs, 20)} ${line}` : line;
    if (last) status.finish(text);
    else status.update(text, { force: (r.epoch + 1) % opts.every === 0 });
  };
}
