/** The progress bar and status line of loading a run. */
import type { LoadProgress } from '../protocol.js';
import { formatBytes } from './format.js';

const PHASE: Record<LoadProgress['phase'], string> = {
  manifest: 'Reading run.json',
  download: 'Downloading weights',
  build: 'Building the model on the backend',
  warmup: 'Warming up (first request compiles the kernels)',
};

/** Updates the bar (`value`/`max` of a `<progress>`) and the status text for a loading step. */
export function renderProgress(bar: HTMLProgressElement, status: HTMLElement, p: LoadProgress): void {
  bar.hidden = false;
  if (p.phase === 'download' && p.total > 0) {
    bar.max = p.total;
    bar.value = p.loaded;
    const pct = Math.floor((100 * p.loaded) / p.total);
    status.textContent = `${PHASE.download}: ${formatBytes(p.loaded)} of ${formatBytes(p.total)} (${pct}%), file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal}${p.file ? ` · ${p.file}` : ''}`;
  } else {
    // Indeterminate: no byte counts for these steps.
    bar.removeAttribute('value');
    status.textContent = `${PHASE[p.phase]}…`;
  }
  status.dataset.phase = p.phase;
}

/** Marks loading as finished (full bar) with a summary line. */
export function finishProgress(
  bar: HTMLProgressElement,
  status: HTMLElement,
  text: string,
  ok: boolean,
): void {
  bar.max = 1;
  bar.value = ok ? 1 : 0;
  status.textContent = text;
  status.dataset.phase = ok ? 'done' : 'error';
  status.classList.toggle('error', !ok);
}
