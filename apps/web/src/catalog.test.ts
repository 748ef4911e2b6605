import { describe, expect, it } from 'vitest';
import { Catalog, idOnlyCatalog } from './catalog.js';

const catalog = new Catalog([
  '',
  'Rose Face Cream',
  'Crème Brûlée Lip Balm',
  'face wash',
  '',
  'Cream of the crop 4',
]);

describe('Catalog.search', () => {
  it('needs every word, ignoring case and accents', () => {
    expect(catalog.search('CREAM').map((h) => h.id)).toEqual([5, 1]);
    expect(catalog.search('face cream').map((h) => h.id)).toEqual([1]);
    expect(catalog.search('creme brulee').map((h) => h.id)).toEqual([2]);
    expect(catalog.search('cream soap')).toEqual([]);
  });

  it('lists titles that start with the first word first, then by id', () => {
    expect(catalog.search('face').map((h) => h.id)).toEqual([3, 1]);
  });

  it('finds an item by its id first, and items without a title by id', () => {
    expect(catalog.search('4')).toEqual([
      { id: 4, title: 'item 4' },
      { id: 5, title: 'Cream of the crop 4' },
    ]);
    expect(catalog.search('9')).toEqual([]);
    expect(catalog.search('0')).toEqual([]);
  });

  it('finds nothing for an empty query and respects the limit', () => {
    expect(catalog.search('   ')).toEqual([]);
    expect(catalog.search('e', 2)).toHaveLength(2);
  });

  it('an id-only catalog has every item by id', () => {
    const c = idOnlyCatalog(3);
    expect(c.numItems).toBe(3);
    expect(c.title(2)).toBe('item 2');
    expect(c.search('3')).toEqual([{ id: 3, title: 'item 3' }]);
  });
});
