/**
 * Downloads every file of an exported run before the model is built, so the page can show one
 * progress bar over all bytes. Which files a run has comes from `run.json` (fusion's `RUN_FILES`
 * layout); the dataset files under `data/` are optional.
 */
import { RUN_FILES, type RunManifest } from '@mmesid/fusion';
import { MmesidError } from '@mmesid/tensor';
import type { LoadProgress } from './protocol.js';
import { type OpenedFile, type RunFileOpener, readAll } from './run-files.js';

/** The dataset files a run folder may carry beside the export (the authors' layout, `saveAuthorsDataset`). */
export const DATA_FILES = Object.freeze({ items: 'data/items.csv', sequences: 'data/sequences.txt' });

/** What {@link downloadRun} returns. */
export interface DownloadedRun {
  manifest: RunManifest;
  /** Bytes by path relative to the run folder; optional files that were absent are missing. */
  files: Map<string, Uint8Array>;
  bytes: number;
  ms: number;
}

/**
 * The files a run needs: the manifest, the fusion tensors and the merged LLM. An adapter run needs
 * its base model (Llama3-8B in the paper), which a page cannot load: that is an error here.
 */
export function requiredFiles(manifest: RunManifest): string[] {
  if (manifest.llm?.kind !== 'merged') {
    const base = manifest.llm?.baseModel ? ` for base model ${manifest.llm.baseModel}` : '';
    throw new MmesidError(
      `${RUN_FILES.manifest}: this run stores a LoRA adapter${base} (llm.kind "${manifest.llm?.kind}"); the page needs a self-contained run: export it with exportRun(model, dir) (llm "merged", the default)`,
    );
  }
  return [RUN_FILES.fusion, `${RUN_FILES.llmDir}/config.json`, `${RUN_FILES.llmDir}/model.safetensors`];
}

/**
 * Reads `run.json`, then every file the run needs plus the optional `data/` files, all at once,
 * reporting bytes received over bytes expected.
 *
 * @throws MmesidError when `run.json` or a required file is missing
 */
export async function downloadRun(
  open: RunFileOpener,
  onProgress: (p: LoadProgress) => void,
): Promise<DownloadedRun> {
  const t0 = performance.now();
  onProgress({
    phase: 'manifest',
    loaded: 0,
    total: 0,
    file: RUN_FILES.manifest,
    filesDone: 0,
    filesTotal: 1,
  });
  const m = await open(RUN_FILES.manifest);
  if (!m)
    throw new MmesidError(
      `${RUN_FILES.manifest} not found: pick the folder written by exportRun (or a parent of it), or a URL of that folder`,
    );
  const manifestBytes = await readAll(m.stream, m.size, () => {});
  let manifest: RunManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as RunManifest;
  } catch (e) {
    throw new MmesidError(`${RUN_FILES.manifest}: not valid JSON (${(e as Error).message})`);
  }
  const required = requiredFiles(manifest);
  const optional = [DATA_FILES.items, DATA_FILES.sequences];
  const paths = [...required, ...optional];
  const opened = await Promise.all(paths.map((p) => open(p)));
  const present: { path: string; file: OpenedFile }[] = [];
  paths.forEach((path, i) => {
    const file = opened[i];
    if (file) present.push({ path, file });
    else if (required.includes(path))
      throw new MmesidError(`${path} not found in the run folder; it is part of every merged run`);
  });
  const files = new Map<string, Uint8Array>([[RUN_FILES.manifest, manifestBytes]]);
  // A server that sends no length (or a wrong one) makes the total grow with what arrives.
  const seen = present.map(() => 0);
  const expected = () =>
    present.reduce((a, p, i) => a + Math.max(p.file.size ?? 0, seen[i]!), manifestBytes.length);
  const received = () => seen.reduce((a, n) => a + n, manifestBytes.length);
  let done = 1;
  let current = '';
  const report = () =>
    onProgress({
      phase: 'download',
      loaded: received(),
      total: expected(),
      file: current,
      filesDone: done,
      filesTotal: present.length + 1,
    });
  report();
  await Promise.all(
    present.map(async ({ path, file }, i) => {
      const bytes = await readAll(file.stream, file.size, (n) => {
        seen[i] = (seen[i] ?? 0) + n;
        current = path;
        report();
      });
      files.set(path, bytes);
      done++;
      report();
    }),
  );
  const loaded = received();
  return { manifest, files, bytes: loaded, ms: performance.now() - t0 };
}
