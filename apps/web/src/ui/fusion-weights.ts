/**
 * An item's fusion weights (the frequency-aware fusion's softmax over the target table and each
 * modality) as a stacked bar with the numbers beside it.
 */
import { h } from './dom.js';

const COLORS: Record<string, string> = {
  target: '#8a8f98',
  collaborative: '#3a6fd8',
  visual: '#e0862a',
  text: '#2f9e5b',
};
const SPARE = ['#9b59b6', '#c0392b', '#16a085', '#7f8c8d'];

/** The colour of a fusion term (stable for the known ones). */
export function termColor(term: string, index: number): string {
  return COLORS[term] ?? SPARE[index % SPARE.length]!;
}

/** The bar and the labelled numbers for one item's weights over `terms`. */
export function fusionWeights(terms: readonly string[], weights: readonly number[]): HTMLElement {
  const bar = h('div', {
    class: 'fw-bar',
    role: 'img',
    'aria-label': terms.map((t, i) => `${t} ${weights[i]!.toFixed(3)}`).join(', '),
  });
  const legend = h('div', { class: 'fw-legend' });
  terms.forEach((t, i) => {
    const w = weights[i] ?? 0;
    const seg = h('span', { class: 'fw-seg', title: `${t}: ${w.toFixed(4)}` });
    seg.style.width = `${(100 * Math.max(0, w)).toFixed(2)}%`;
    seg.style.background = termColor(t, i);
    bar.append(seg);
    const key = h('span', { class: 'fw-key', 'data-term': t, 'data-weight': String(w) });
    const dot = h('i', {});
    dot.style.background = termColor(t, i);
    key.append(dot, `${t} ${w.toFixed(2)}`);
    legend.append(key);
  });
  return h('div', { class: 'fw' }, bar, legend);
}
