/**
 * What an item is for the encoders: its id (the row of the embedding table), its title (text side) and
 * its image (a local path or an http(s) URL).
 */
export interface Item {
  /** 1-based item id; row `id` of every table `encodeItems` writes (row 0 is padding). */
  readonly id: number;
  readonly title?: string;
  /** A local file path or an `http://` / `https://` URL. */
  readonly image?: string;
}

/** The item metadata shape of `@mmesid/datasets` (`Dataset.items`), matched structurally. */
export interface ItemMetaLike {
  readonly title: string;
  readonly imageUrl: string;
}

/**
 * Items from a dataset's metadata table (`items[id]`, `items[0]` = padding = `null`), such as
 * `Dataset.items` of `@mmesid/datasets`. Null entries (no metadata) are skipped, and so are not
 * encoded: they keep the zero row and stay "not done" in the cache.
 *
 * @example
 * const ds = await loadAuthorsDataset('/data/beauty');
 * const items = itemsFromMeta(ds.items); // [{ id: 1, title: 'OPI Nail Lacquer...', image: 'http://...' }, ...]
 */
export function itemsFromMeta(meta: readonly (ItemMetaLike | null | undefined)[]): Item[] {
  const out: Item[] = [];
  for (let id = 1; id < meta.length; id++) {
    const m = meta[id];
    if (!m) continue;
    out.push({ id, title: m.title, ...(m.imageUrl ? { image: m.imageUrl } : {}) });
  }
  return out;
}
