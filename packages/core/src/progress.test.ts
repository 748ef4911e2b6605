import { describe, expect, it } from 'vitest';
import { formatDuration, progressBar, StatusLine } from './progress.js';

describe('formatDuration', () => {
  it('rounds to the second, then picks the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(41.6)).toBe('42s');
    expect(formatDuration(119.6)).toBe('2m00s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
    expect(formatDuration(Number.NaN)).toBe('?');
    expect(formatDuration(-1)).toBe('?');
  });
});

describe('progressBar', () => {
  it('fills round(fraction * width) cells and clamps', () => {
    expect(progressBar(0.5, 8)).toBe('[####....]');
    expect(progressBar(2, 4)).toBe('[####]');
    expect(progressBar(-1, 4)).toBe('[....]');
  });
});

describe('StatusLine', () => {
  it('throttles plain lines by interval, but shows each new tenth and forced statuses', () => {
    let t = 0;
    const out: string[] = [];
    const s = new StatusLine({ write: (x) => out.push(x) }, { intervalMs: 1000, now: () => t });
    expect(s.tty).toBe(false);
    s.update('a', { fraction: 0.01 }); // first: shown
    s.update('b', { fraction: 0.02 }); // same tenth, too soon
    t = 500;
    s.update('c', { fraction: 0.15 }); // new tenth
    s.update('d'); // too soon
    s.update('e', { force: true });
    t = 1600;
    s.update('f'); // interval passed
    s.finish('f'); // already the last status: not repeated
    s.finish('g');
    s.line('h');
    expect(out).toEqual(['a\n', 'c\n', 'e\n', 'f\n', 'g\n', 'h\n']);
  });

  it('redraws in place on a terminal and ends the line before whole lines and new tasks', () => {
    let t = 0;
    const out: string[] = [];
    const s = new StatusLine({ write: (x) => out.push(x), isTTY: true }, { now: () => t });
    s.update('x');
    t = 300;
    s.update('y');
    s.restart();
    s.update('z');
    s.line('done');
    s.restart(true);
    s.update('quiet'); // quiet restart: waits a full interval
    t = 600;
    s.update('later');
    expect(out).toEqual(['\rx\x1b[K', '\ry\x1b[K', '\n', '\rz\x1b[K', '\rdone\x1b[K\n', '\rlater\x1b[K']);
  });

  it('prints nothing to a null stream', () => {
    const s = new StatusLine(null);
    expect(s.update('x', { force: true })).toBe(false);
    s.line('y');
    s.finish('z');
  });
});
