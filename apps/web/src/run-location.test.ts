import { describe, expect, it } from 'vitest';
import { findRunRoots, runFolderUrl } from './run-location.js';

describe('runFolderUrl', () => {
  it('resolves against the page and ends with a slash', () => {
    expect(runFolderUrl('run', 'http://h/app/index.html')).toBe('http://h/app/run/');
    expect(runFolderUrl('/runs/a/', 'http://h/app/')).toBe('http://h/runs/a/');
    expect(runFolderUrl('https://cdn/x/run.json?v=1#top')).toBe('https://cdn/x/');
  });

  it('throws on something that is not a URL', () => {
    expect(() => runFolderUrl('http://')).toThrow();
  });
});

describe('findRunRoots', () => {
  it('finds each folder holding run.json, shallowest first', () => {
    const paths = [
      'out/a/export/run.json',
      'out/a/export/llm/config.json',
      'out/run.json',
      'out/b/export/run.json',
      'out/x.txt',
    ];
    expect(findRunRoots(paths)).toEqual(['out/', 'out/a/export/', 'out/b/export/']);
    expect(findRunRoots(['run.json'])).toEqual(['']);
    expect(findRunRoots(['out/notrun.json', 'out/run.jsonx'])).toEqual([]);
  });
});
