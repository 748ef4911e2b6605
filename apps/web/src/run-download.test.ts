import { RUN_FILES } from '@mmesid/fusion';
import { describe, expect, it } from 'vitest';
import type { LoadProgress } from './protocol.js';
import { DATA_FILES, downloadRun } from './run-download.js';
import type { RunFileOpener } from './run-files.js';

const enc = new TextEncoder();

/** An opener over in-memory files; `sizeless` files report no size (like a server without Content-Length). */
function memoryOpener(files: Record<string, Uint8Array>, sizeless: string[] = []): RunFileOpener {
  return async (path) => {
    const bytes = files[path];
    if (!bytes) return null;
    const half = Math.ceil(bytes.length / 2);
    return {
      size: sizeless.includes(path) ? null : bytes.length,
      stream: new ReadableStream({
        start(c) {
          c.enqueue(bytes.slice(0, half));
          c.enqueue(bytes.slice(half));
          c.close();
        },
      }),
    };
  };
}

const merged = {
  [RUN_FILES.manifest]: enc.encode(
    JSON.stringify({ format: 'mmesid-fusion-run', version: 1, llm: { kind: 'merged' }, metadata: {} }),
  ),
  [RUN_FILES.fusion]: new Uint8Array(1000),
  [`${RUN_FILES.llmDir}/config.json`]: enc.encode('{}'),
  [`${RUN_FILES.llmDir}/model.safetensors`]: new Uint8Array(3000),
};

describe('downloadRun', () => {
  it('reads every required and present optional file, with progress up to the total', async () => {
    const files = { ...merged, [DATA_FILES.items]: enc.encode('asin,title,imUrl,id\n') };
    const events: LoadProgress[] = [];
    const dl = await downloadRun(memoryOpener(files), (p) => events.push(p));
    expect([...dl.files.keys()].sort()).toEqual(Object.keys(files).sort());
    const total = Object.values(files).reduce((a, b) => a + b.length, 0);
    expect(dl.bytes).toBe(total);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(downloads.at(-1)).toMatchObject({ loaded: total, total, filesDone: 5, filesTotal: 5 });
    for (let i = 1; i < downloads.length; i++)
      expect(downloads[i]!.loaded).toBeGreaterThanOrEqual(downloads[i - 1]!.loaded);
    for (const e of downloads) expect(e.loaded).toBeLessThanOrEqual(e.total);
  });

  it('grows the total when a file has no announced size', async () => {
    const events: LoadProgress[] = [];
    const dl = await downloadRun(memoryOpener(merged, [RUN_FILES.fusion]), (p) => events.push(p));
    const last = events.at(-1)!;
    expect(last.loaded).toBe(dl.bytes);
    expect(last.total).toBe(dl.bytes);
    expect(events.filter((e) => e.phase === 'download')[0]!.total).toBe(dl.bytes - 1000);
  });

  it('says what is wrong: no run.json, a missing weight file, an adapter run', async () => {
    await expect(downloadRun(memoryOpener({}), () => {})).rejects.toThrow(/run\.json not found/);
    const { [`${RUN_FILES.llmDir}/model.safetensors`]: _, ...partial } = merged;
    await expect(downloadRun(memoryOpener(partial), () => {})).rejects.toThrow(
      /llm\/model\.safetensors not found/,
    );
    const adapter = {
      ...merged,
      [RUN_FILES.manifest]: enc.encode(
        JSON.stringify({
          format: 'mmesid-fusion-run',
          version: 1,
          llm: { kind: 'adapter', baseModel: 'meta-llama/Meta-Llama-3-8B-Instruct' },
        }),
      ),
    };
    await expect(downloadRun(memoryOpener(adapter), () => {})).rejects.toThrow(
      /LoRA adapter for base model meta-llama.*llm "merged"/,
    );
    await expect(
      downloadRun(memoryOpener({ [RUN_FILES.manifest]: enc.encode('{oops') }), () => {}),
    ).rejects.toThrow(/run\.json: not valid JSON/);
  });
});
