/** The history being built (chips, oldest first) and the search hits that add to it. */
import type { Catalog, CatalogHit } from '../catalog.js';
import { h } from './dom.js';

/** Renders the history as removable chips; `data-item` holds each id. */
export function renderHistory(
  list: HTMLElement,
  history: readonly number[],
  catalog: Catalog,
  onRemove: (index: number) => void,
): void {
  list.dataset.items = history.join(',');
  if (history.length === 0) {
    list.replaceChildren(
      h('li', { class: 'empty' }, 'Empty: search for items and click them, or pick a test user.'),
    );
    return;
  }
  list.replaceChildren(
    ...history.map((id, i) =>
      h(
        'li',
        { class: 'chip', 'data-item': id },
        h('span', { class: 'chip-title', title: catalog.title(id) }, catalog.title(id)),
        h('span', { class: 'chip-id' }, `#${id}`),
        h(
          'button',
          { type: 'button', class: 'chip-x', 'aria-label': `remove item ${id}`, onclick: () => onRemove(i) },
          '×',
        ),
      ),
    ),
  );
}

/** Renders search hits as buttons that add the item. */
export function renderSearchHits(
  list: HTMLElement,
  hits: readonly CatalogHit[],
  query: string,
  onPick: (id: number) => void,
): void {
  if (query.trim() && hits.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'No item matches.'));
    return;
  }
  list.replaceChildren(
    ...hits.map((hit) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'hit', 'data-item': hit.id, onclick: () => onPick(hit.id) },
          h('span', { class: 'hit-title' }, hit.title),
          h('span', { class: 'hit-id' }, `#${hit.id}`),
        ),
      ),
    ),
  );
}
