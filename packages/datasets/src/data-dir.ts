import { nodeBuiltins } from '@mmesid/core';
import { type Amazon2014Options, type LoadAmazon2014Options, loadAmazon2014 } from './amazon2014.js';
import { loadAuthorsDataset } from './authors.js';
import type { Dataset } from './dataset.js';
import { DatasetError } from './errors.js';

/** Options of {@link loadDataDir}. */
export interface LoadDataDirOptions extends Amazon2014Options {
  /** For a directory of raw Amazon 2014 files holding several categories: which one. */
  readonly category?: string;
  readonly name?: string;
  /** How Amazon 2014 metadata strings are read (see {@link LoadAmazon2014Options.metaStrings}). */
  readonly metaStrings?: 'python3' | 'python2';
}

/**
 * Loads whatever a `--data-dir` points at: the authors' layout when the directory has
 * `sequences.txt`, otherwise a raw Amazon 2014 category (`reviews_<Category>_5.json[.gz]` with its
 * `meta_<Category>.json[.gz]`). With several categories present, `category` picks one.
 *
 * @throws {DatasetError} when the directory holds neither layout, or several categories and no `category`.
 * @example
 * const data = await loadDataDir(argv.dataDir, { category: 'Beauty' });
 */
export async function loadDataDir(dir: string, options: LoadDataDirOptions = {}): Promise<Dataset> {
  const { fsp, path } = await nodeBuiltins();
  const { category, name, ...amazon } = options;
  const entries = await fsp.readdir(dir);
  if (entries.includes('sequences.txt')) return loadAuthorsDataset(dir, name ? { name } : {});
  const found = new Map<string, string>();
  for (const e of entries) {
    const m = /^reviews_(.+)_5\.json(\.gz)?$/.exec(e);
    if (m) found.set(m[1]!, e);
  }
  const wanted = category ?? (found.size === 1 ? [...found.keys()][0] : undefined);
  if (wanted === undefined || !found.has(wanted)) {
    const what =
      found.size === 0
        ? 'neither sequences.txt (the authors’ layout) nor reviews_<Category>_5.json.gz (Amazon 2014)'
        : `Amazon 2014 reviews for ${[...found.keys()].join(', ')}; pass a category`;
    throw new DatasetError(`${path.resolve(dir)} holds ${what}${category ? ` (asked for ${category})` : ''}`);
  }
  const reviewsFile = found.get(wanted)!;
  const metaFile =
    entries.find((e) => e === `meta_${wanted}.json.gz`) ?? entries.find((e) => e === `meta_${wanted}.json`);
  if (metaFile === undefined) {
    throw new DatasetError(`${path.resolve(dir)} has ${reviewsFile} but no meta_${wanted}.json.gz beside it`);
  }
  return loadAmazon2014({
    ...amazon,
    dir,
    category: wanted,
    reviewsFile,
    metaFile,
    ...(name ? { name } : {}),
  });
}
