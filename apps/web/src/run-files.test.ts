import { describe, expect, it } from 'vitest';
import { openerFor, readAll } from './run-files.js';

function streamOf(chunks: number[][]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(Uint8Array.from(ch));
      c.close();
    },
  });
}

describe('readAll', () => {
  it('joins chunks and reports each one, with or without a known size', async () => {
    for (const size of [5, null]) {
      const seen: number[] = [];
      const out = await readAll(streamOf([[1, 2], [3], [4, 5]]), size, (n) => seen.push(n));
      expect(Array.from(out)).toEqual([1, 2, 3, 4, 5]);
      expect(seen).toEqual([2, 1, 2]);
    }
  });

  it('keeps every byte when the size was wrong either way', async () => {
    expect(
      Array.from(
        await readAll(
          streamOf([
            [1, 2],
            [3, 4],
          ]),
          3,
          () => {},
        ),
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(Array.from(await readAll(streamOf([[1, 2]]), 4, () => {}))).toEqual([1, 2]);
  });
});

describe('openerFor (picked files)', () => {
  it('maps paths below the chosen root and says null for the rest', async () => {
    const files = [
      new File(['{}'], 'out/export/run.json'),
      new File(['abc'], 'out/export/llm/config.json'),
      new File(['x'], 'out/other.txt'),
    ];
    const open = openerFor({ kind: 'files', files, root: 'out/export/' });
    const f = await open('llm/config.json');
    expect(f?.size).toBe(3);
    expect(new TextDecoder().decode(await readAll(f!.stream, f!.size, () => {}))).toBe('abc');
    expect(await open('other.txt')).toBeNull();
    expect(await open('fusion.safetensors')).toBeNull();
  });
});
