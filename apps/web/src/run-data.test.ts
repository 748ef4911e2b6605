import { describe, expect, it } from 'vitest';
import { readRunData } from './run-data.js';
import { DATA_FILES } from './run-download.js';

const enc = new TextEncoder();
const items =
  'asin,title,imUrl,id\nA1,"Rose, cream",http://img/1.jpg,1\nA2,Soap,,2\nA3,Brush,http://img/3.jpg,3\n';
const sequences = '7 1 2 3\n8 2 3\n9 3 1 2 3\n';

describe('readRunData', () => {
  it('reads titles, image URLs and the leave-one-out test users', () => {
    const d = readRunData(
      new Map([
        [DATA_FILES.items, enc.encode(items)],
        [DATA_FILES.sequences, enc.encode(sequences)],
      ]),
      3,
    );
    expect(d.titles).toEqual(['', 'Rose, cream', 'Soap', 'Brush']);
    expect(d.imageUrls).toEqual(['', 'http://img/1.jpg', '', 'http://img/3.jpg']);
    // User 8 has 2 items: training only, no test pair.
    expect(d.testUsers).toEqual([
      { user: '7', history: [1, 2], target: 3 },
      { user: '9', history: [3, 1, 2], target: 3 },
    ]);
    expect(d.notes).toEqual([]);
  });

  it('turns absent or mismatched files into notes', () => {
    const none = readRunData(new Map(), 3);
    expect(none).toMatchObject({ titles: null, imageUrls: null, testUsers: null });
    expect(none.notes).toHaveLength(2);
    const tooMany = readRunData(
      new Map([
        [DATA_FILES.items, enc.encode(items)],
        [DATA_FILES.sequences, enc.encode(sequences)],
      ]),
      2,
    );
    expect(tooMany.titles).toBeNull();
    expect(tooMany.notes.join('\n')).toMatch(/items up to 3 but the model has 2/);
    expect(tooMany.notes.join('\n')).toMatch(/sequences\.txt.*3/);
  });
});
