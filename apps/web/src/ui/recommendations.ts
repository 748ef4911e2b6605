/**
 * The top-k list: rank, picture, title and id, score and fusion weights of each recommended item.
 * Each row carries `data-item` and `data-score` (the full float value) for tests and tooling.
 */
import type { Catalog } from '../catalog.js';
import type { RecommendResult } from '../protocol.js';
import { h } from './dom.js';
import { formatScore } from './format.js';
import { fusionWeights } from './fusion-weights.js';
import { itemImage } from './item-image.js';

/** Renders a result into the list element. */
export function renderRecommendations(
  list: HTMLElement,
  r: RecommendResult,
  catalog: Catalog,
  imageUrls: readonly string[] | null,
  heldOut?: number,
): void {
  list.replaceChildren(
    ...r.items.map((id, i) =>
      h(
        'li',
        { class: 'rec', 'data-item': id, 'data-score': String(r.scores[i]), 'data-held-out': heldOut === id },
        h('span', { class: 'rec-rank' }, String(i + 1)),
        itemImage(imageUrls?.[id] ?? ''),
        h(
          'div',
          { class: 'rec-body' },
          h('div', { class: 'rec-title' }, catalog.title(id)),
          h(
            'div',
            { class: 'rec-meta' },
            `item ${id}`,
            imageUrls?.[id] ? h('span', { class: 'rec-url' }, ` · ${imageUrls[id]}`) : null,
          ),
          fusionWeights(r.terms, r.weights[i] ?? []),
        ),
        h('span', { class: 'rec-score', title: String(r.scores[i]) }, formatScore(r.scores[i]!)),
      ),
    ),
  );
}
