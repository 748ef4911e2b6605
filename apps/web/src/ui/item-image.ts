/**
 * An item's picture: an `<img>` for http(s) URLs, replaced by a placeholder box that shows the URL
 * when the image does not load (Amazon's 2014 image URLs mostly do not any more), and the box
 * straight away for anything else (no URL, `synthetic://...`).
 */
import { h } from './dom.js';

function placeholder(url: string): HTMLElement {
  return h(
    'div',
    { class: 'img-placeholder', title: url || 'no image URL' },
    h('span', {}, url || 'no image'),
  );
}

/** The image cell of an item. */
export function itemImage(url: string): HTMLElement {
  if (!/^https?:\/\//i.test(url)) return placeholder(url);
  const box = h('div', { class: 'img-box' });
  const img = h('img', {
    src: url,
    alt: '',
    loading: 'lazy',
    referrerpolicy: 'no-referrer',
    decoding: 'async',
  });
  img.addEventListener('error', () => box.replaceChildren(placeholder(url)), { once: true });
  box.append(img);
  return box;
}
