/**
 * Finding items by title for the history editor: every word of the query must appear in the
 * title (case- and accent-insensitive); a number also finds the item with that id.
 */

/** One search hit. */
export interface CatalogHit {
  id: number;
  title: string;
}

function fold(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

/** The searchable titles of a run's items (ids 1..N; titles may be empty when unknown). */
export class Catalog {
  private readonly folded: string[];

  constructor(
    /** Indexed by item id; index 0 (padding) is ignored. */
    readonly titles: readonly string[],
  ) {
    this.folded = titles.map(fold);
  }

  /** The largest item id. */
  get numItems(): number {
    return this.titles.length - 1;
  }

  /** The title of an item, or `item <id>` when the run has none for it. */
  title(id: number): string {
    const t = this.titles[id];
    return t && t.trim().length > 0 ? t : `item ${id}`;
  }

  /**
   * Up to `limit` items whose title contains every word of `query`, titles that start with the
   * first word first, then by id. A query that is a whole number also matches that item id
   * (listed first). An empty query finds nothing.
   */
  search(query: string, limit = 20): CatalogHit[] {
    const words = fold(query)
      .split(/\s+/)
      .filter((w) => w.length > 0);
    if (words.length === 0) return [];
    const hits: CatalogHit[] = [];
    const seen = new Set<number>();
    if (words.length === 1 && /^[0-9]+$/.test(words[0]!)) {
      const id = Number(words[0]);
      if (id >= 1 && id <= this.numItems) {
        hits.push({ id, title: this.title(id) });
        seen.add(id);
      }
    }
    const prefix: number[] = [];
    const inner: number[] = [];
    for (let id = 1; id <= this.numItems; id++) {
      const t = this.folded[id]!;
      if (seen.has(id) || !words.every((w) => t.includes(w))) continue;
      (t.startsWith(words[0]!) ? prefix : inner).push(id);
      if (prefix.length >= limit) break;
    }
    for (const id of [...prefix, ...inner]) {
      if (hits.length >= limit) break;
      hits.push({ id, title: this.title(id) });
    }
    return hits;
  }
}

/** A catalog for a run without titles: items are found by id only. */
export function idOnlyCatalog(numItems: number): Catalog {
  return new Catalog(new Array<string>(numItems + 1).fill(''));
}
