import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MmesidError } from './errors.js';
import { pathExists, readJson, readJsonIfExists, writeDirAtomic, writeJsonAtomic } from './files.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'core-files-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('writeDirAtomic', () => {
  it('creates, then replaces a directory as a whole, leaving no temporary siblings', async () => {
    const target = join(root, 'out');
    await writeDirAtomic(target, async (d) => {
      writeFileSync(join(d, 'a.txt'), '1');
      writeFileSync(join(d, 'b.txt'), '1');
    });
    await writeDirAtomic(target, async (d) => {
      writeFileSync(join(d, 'a.txt'), '2');
    });
    expect(readdirSync(target)).toEqual(['a.txt']);
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('2');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('leaves the old directory untouched when the writer throws', async () => {
    const target = join(root, 'out');
    await writeDirAtomic(target, async (d) => writeFileSync(join(d, 'a.txt'), 'old'));
    await expect(
      writeDirAtomic(target, async (d) => {
        writeFileSync(join(d, 'a.txt'), 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['out']);
  });
});

describe('JSON files', () => {
  it('round-trips, reports a missing file as undefined and names a corrupt one', async () => {
    const f = join(root, 'x.json');
    expect(await readJsonIfExists(f)).toBeUndefined();
    expect(await pathExists(f)).toBe(false);
    await writeJsonAtomic(f, { a: [1, 2], b: 'c' });
    expect(readFileSync(f, 'utf8')).toBe('{\n  "a": [\n    1,\n    2\n  ],\n  "b": "c"\n}\n');
    expect(await readJson(f)).toEqual({ a: [1, 2], b: 'c' });
    expect(await pathExists(f)).toBe(true);
    writeFileSync(f, '{"a": ');
    await expect(readJsonIfExists(f)).rejects.toThrow(MmesidError);
    await expect(readJson(f)).rejects.toThrow(`${f}: not valid JSON`);
    writeFileSync(f, '{"a": 1, "a": 2}');
    await expect(readJson(f)).rejects.toThrow(`${f}: key "a" appears twice`);
    expect(readdirSync(root)).toEqual(['x.json']);
  });
});
