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

/** "1h02m", "3m05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
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
 * every `every` epochs (and the last).
 */
export function progressPrinter(opts: {
  every: number;
  label?: string;
}): (r: EpochReport, last: boolean) => void {
  const out = (globalThis as { process?: { stdout?: { isTTY?: boolean; write(s: string): void } } }).process
    ?.stdout;
  const tty = !!out?.isTTY;
  return (r, last) => {
    if (opts.every === 0) return;
    const line = formatEpoch(r, opts.label);
    if (tty && out) {
      const frac = (r.epoch + 1) / r.maxEpochs;
      const bar = '#'.repeat(Math.round(frac * 20)).padEnd(20, '.');
      out.write(`\r[${bar}] ${line}\u001b[K${last ? '\n' : ''}`);
    } else if (last || (r.epoch + 1) % opts.every === 0) {
      console.log(line);
    }
  };
}
