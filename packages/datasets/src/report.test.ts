import { describe, expect, it } from 'vitest';
import type { Dataset } from './dataset.js';
import { createProgressPrinter } from './progress.js';
import { datasetReport, formatProvenance, formatReport, lengthStats, splitReport } from './report.js';
import { leaveOneOut } from './split.js';

const tiny: Dataset = {
  name: 'tiny',
  numItems: 5,
  sequences: [Int32Array.from([1, 2, 3]), Int32Array.from([2, 4, 2, 1]), Int32Array.from([5])],
  userIds: ['a', 'b', 'c'],
  items: [null, { asin: 'A', title: 't', imageUrl: 'u' }, null, null, null, null],
  provenance: {
    kind: 'authors',
    files: [{ path: 'seq.txt', bytes: 10, sha256: 'ab' }],
    filters: [
      { name: 'k-core', description: 'demo', removedUsers: 1, removedItems: 2, removedInteractions: 3 },
    ],
    notes: ['a note'],
  },
};

describe('reports', () => {
  it('lengthStats uses numpy’s median', () => {
    expect(lengthStats([5, 1, 3])).toEqual({ min: 1, max: 5, mean: 3, median: 3 });
    expect(lengthStats([4, 1, 3, 2]).median).toBe(2.5);
    expect(lengthStats([]).mean).toBeNaN();
  });

  it('counts a dataset and its split', () => {
    const r = datasetReport(tiny);
    expect(r).toMatchObject({
      users: 3,
      items: 5,
      itemsWithInteractions: 5,
      itemsWithMetadata: 1,
      interactions: 8,
      repeatedInteractions: 1,
    });
    expect(r.density).toBeCloseTo(8 / 15, 12);
    expect(r.sequenceLength).toEqual({ min: 1, max: 4, mean: 8 / 3, median: 3 });
    const s = splitReport(leaveOneOut(tiny));
    expect(s).toMatchObject({
      trainPairs: 4,
      emptyHistoryPairs: 3,
      validPairs: 2,
      testPairs: 2,
      trainOnlyUsers: 1,
    });
    const text = formatReport(r, s);
    expect(text).toContain('users 3, items 5 (5 with interactions, 1 with metadata)');
    expect(text).toContain('train 4 pairs (3 with empty history), valid 2, test 2, train-only users 1');
    expect(formatProvenance(tiny)).toContain(
      'filter k-core: removed 1 users, 2 items, 3 interactions (demo)',
    );
  });

  it('prints progress as plain lines off a terminal and as a bar on one', () => {
    let t = 0;
    const plain: string[] = [];
    const p = createProgressPrinter({ write: (s) => plain.push(s) }, { now: () => t, intervalMs: 1000 });
    for (let done = 0; done <= 100; done += 5) {
      t += 100;
      p.update({ label: 'f', done, total: 100 });
    }
    p.finish({ label: 'f', done: 100, total: 100 });
    expect(plain.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(plain.length).toBeLessThanOrEqual(13); // about one line per 10 %, not one per update
    expect(plain.at(-1)).toMatch(/^f 100\.0% 100 B\/100 B .*\/s ETA 0s\n$/);
    const tty: string[] = [];
    const q = createProgressPrinter({ write: (s) => tty.push(s), isTTY: true }, { now: () => t });
    t += 1000;
    q.update({ label: 'g', done: 0, total: 2048 });
    t += 1000;
    q.update({ label: 'g', done: 1024, total: 2048 });
    expect(tty.at(-1)).toContain('\r');
    expect(tty.at(-1)).toContain('[############............] 50.0% 1.0 KiB/2.0 KiB 1.0 KiB/s ETA 1s');
  });
});
