import { nodeBuiltins, parseOptions } from '@mmesid/core';
import { z } from 'zod';
import type { Dataset, FilterRecord, ItemMeta, SourceFile } from './dataset.js';
import {
  DataFormatError,
  DuplicateItemError,
  JsonLineError,
  PythonLiteralError,
  quoteValue,
} from './errors.js';
import { readTextLines } from './lines.js';
import { type PythonLiteralSource, type PyValue, parsePythonLiteral } from './python-literal.js';

/** The three Amazon 2014 categories the MME-SID paper uses. */
export const AMAZON_2014_CATEGORIES = ['Beauty', 'Toys_and_Games', 'Sports_and_Outdoors'] as const;

/** One of {@link AMAZON_2014_CATEGORIES}. */
export type Amazon2014Category = (typeof AMAZON_2014_CATEGORIES)[number];

/** The publisher's file names for a category: the 5-core reviews and the full metadata. */
export function amazon2014FileNames(category: string): { readonly reviews: string; readonly meta: string } {
  return { reviews: `reviews_${category}_5.json.gz`, meta: `meta_${category}.json.gz` };
}

/** The fields of one review that sequential recommendation needs, and where it was read. */
export interface Amazon2014Review {
  readonly reviewerID: string;
  readonly asin: string;
  /** Seconds since 1970-01-01 UTC, day resolution in these files. */
  readonly unixReviewTime: number;
  /** 1-based line in the reviews file; the tie-break for equal times. */
  readonly line: number;
}

/** The fields of one metadata record the paper's filter looks at. */
export interface Amazon2014Meta {
  readonly asin: string;
  /** Absent when the record has no `title` key. */
  readonly title?: string;
  /** Absent when the record has no `imUrl` key. */
  readonly imUrl?: string;
  readonly line: number;
}

/**
 * Parses one line of `reviews_<Category>_5.json.gz` (a JSON object per line) and keeps
 * `reviewerID`, `asin` and `unixReviewTime`.
 * @throws {JsonLineError} invalid JSON or a missing / mistyped field, with file and line.
 */
export function parseAmazon2014Review(text: string, file: string, line: number): Amazon2014Review {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new JsonLineError({ file, line }, `not valid JSON: ${(cause as Error).message.slice(0, 160)}`, {
      cause,
    });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new JsonLineError({ file, line }, 'expected a JSON object per line');
  }
  const o = v as Record<string, unknown>;
  for (const key of ['reviewerID', 'asin'] as const) {
    if (typeof o[key] !== 'string' || o[key] === '') {
      throw new JsonLineError(
        { file, line },
        `"${key}" must be a non-empty string, got ${quoteValue(JSON.stringify(o[key]) ?? 'nothing')}`,
      );
    }
  }
  const t = o.unixReviewTime;
  if (typeof t !== 'number' || !Number.isInteger(t)) {
    throw new JsonLineError(
      { file, line },
      `"unixReviewTime" must be an integer, got ${quoteValue(JSON.stringify(t) ?? String(t))}`,
    );
  }
  return { reviewerID: o.reviewerID as string, asin: o.asin as string, unixReviewTime: t, line };
}

/**
 * Parses one line of `meta_<Category>.json.gz`: a Python dict literal (the publisher wrote
 * Python `repr`s, not JSON), read with {@link parsePythonLiteral}, never `eval`.
 * @throws {PythonLiteralError} a line that is not a Python literal, with file, line and column.
 * @throws {DataFormatError} a record that is not a dict, or has no string `asin`, or a non-string title/imUrl.
 */
export function parseAmazon2014Meta(
  text: string,
  file: string,
  line: number,
  strings: 'python3' | 'python2' = 'python3',
): Amazon2014Meta {
  const v: PyValue = parsePythonLiteral(text, { file, line, strings });
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v === 'bigint') {
    throw new DataFormatError({ file, line }, 'expected a dict literal per line');
  }
  if (typeof v.asin !== 'string' || v.asin === '') {
    throw new DataFormatError(
      { file, line },
      `"asin" must be a non-empty string, got ${quoteValue(String(v.asin))}`,
    );
  }
  const out: { asin: string; title?: string; imUrl?: string; line: number } = { asin: v.asin, line };
  for (const key of ['title', 'imUrl'] as const) {
    const f = v[key];
    if (f === undefined) continue;
    if (typeof f !== 'string') throw new DataFormatError({ file, line }, `"${key}" must be a string`);
    out[key] = f;
  }
  return out;
}

/** Reads every review of a reviews file (gzipped or not). Empty lines are errors. */
export async function readAmazon2014Reviews(file: string): Promise<Amazon2014Review[]> {
  const out: Amazon2014Review[] = [];
  for await (const { text, line } of readTextLines(file)) {
    if (text.trim() === '') throw new JsonLineError({ file, line }, 'empty line; expected a JSON object');
    out.push(parseAmazon2014Review(text, file, line));
  }
  return out;
}

/** Metadata by asin, and how many lines repeated an asin with identical title and image. */
export interface Amazon2014MetaTable {
  readonly byAsin: Map<string, Amazon2014Meta>;
  readonly repeatedLines: number;
  /**
   * Lines holding a `\\xNN` escape above 0x7f. Python 3 reads such an escape as a code point;
   * if the file came from Python 2 and the escapes are UTF-8 bytes, read it with `strings: 'python2'`.
   */
  readonly linesWithHighByteEscapes: number;
}

/**
 * Reads every record of a metadata file (gzipped or not). A repeated asin with the same title and
 * image is counted in `repeatedLines`; with a different title or image it is an error, since no
 * rule says which one is right. `strings` picks how unprefixed strings are read (see
 * {@link PythonLiteralSource.strings}; default `python3`, as `ast.literal_eval` on a text line).
 */
export async function readAmazon2014Meta(
  file: string,
  options: { readonly strings?: PythonLiteralSource['strings'] } = {},
): Promise<Amazon2014MetaTable> {
  const byAsin = new Map<string, Amazon2014Meta>();
  let repeatedLines = 0;
  let linesWithHighByteEscapes = 0;
  for await (const { text, line } of readTextLines(file)) {
    if (text.trim() === '')
      throw new PythonLiteralError({ file, line }, 'empty line; expected a dict literal');
    if (HIGH_BYTE_ESCAPE.test(text)) linesWithHighByteEscapes++;
    const m = parseAmazon2014Meta(text, file, line, options.strings);
    const prev = byAsin.get(m.asin);
    if (prev === undefined) byAsin.set(m.asin, m);
    else if (prev.title === m.title && prev.imUrl === m.imUrl) repeatedLines++;
    else {
      throw new DuplicateItemError(
        { file, line },
        `asin ${m.asin} appears again (first on line ${prev.line}) with a different title or imUrl`,
      );
    }
  }
  return { byAsin, repeatedLines, linesWithHighByteEscapes };
}

const HIGH_BYTE_ESCAPE = /\\x[89a-fA-F][0-9a-fA-F]/;

/** Options of the paper's preprocessing (see {@link preprocessAmazon2014}). */
export const Amazon2014OptionsSchema = z.strictObject({
  /** Users with fewer interactions are removed (the 5-core rule), repeated to a fixed point. */
  minUserInteractions: z.number().int().min(1).default(5),
  /** Items with fewer interactions are removed, repeated to a fixed point. */
  minItemInteractions: z.number().int().min(1).default(5),
  /** Remove items whose metadata has no title (missing, empty or only blanks). */
  requireTitle: z.boolean().default(true),
  /** Remove items whose metadata has no image URL (missing, empty or only blanks). */
  requireImage: z.boolean().default(true),
});

/** Options accepted by {@link preprocessAmazon2014} (all optional). */
export type Amazon2014Options = z.input<typeof Amazon2014OptionsSchema>;

/** The defaults of {@link Amazon2014OptionsSchema}: the paper's preprocessing. */
export const AMAZON_2014_DEFAULTS: z.output<typeof Amazon2014OptionsSchema> = Amazon2014OptionsSchema.parse(
  {},
);

/**
 * The MME-SID paper's preprocessing of a raw Amazon 2014 category, in this order:
 *
 * 1. `duplicate-interaction`: a user who reviewed the same asin twice keeps the earliest review
 *    (by time, then file line).
 * 2. `no-metadata`, `missing-title-or-image`: interactions with items that have no metadata
 *    record, or whose title or image URL is missing or blank, are removed.
 * 3. `k-core`: users with fewer than `minUserInteractions` and items with fewer than
 *    `minItemInteractions` interactions are removed, repeatedly, until neither rule removes anything.
 * 4. Each user's items are ordered by `unixReviewTime`; equal times keep the order of the lines in
 *    the reviews file (a stable sort on (time, line)). The files have day resolution, so ties are common.
 * 5. Users are numbered in order of their first line in the reviews file; item ids 1.. are given
 *    in order of first appearance walking those users' ordered sequences (0 stays padding).
 *
 * Each filter's removed users, items and interactions are in `provenance.filters`.
 */
export function preprocessAmazon2014(
  reviews: readonly Amazon2014Review[],
  meta: ReadonlyMap<string, Pick<Amazon2014Meta, 'title' | 'imUrl'>>,
  options: Amazon2014Options & { readonly name?: string; readonly files?: readonly SourceFile[] } = {},
): Dataset {
  const { name, files, ...rest } = options;
  const opts = parseOptions(Amazon2014OptionsSchema, rest, 'preprocessAmazon2014 options');
  const filters: FilterRecord[] = [];

  // Dense integer indices for users and items, in order of first appearance in the file.
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const userNames: string[] = [];
  const itemNames: string[] = [];
  const m = reviews.length;
  const u = new Int32Array(m);
  const it = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    const r = reviews[k]!;
    let ui = userIndex.get(r.reviewerID);
    if (ui === undefined) {
      ui = userNames.length;
      userIndex.set(r.reviewerID, ui);
      userNames.push(r.reviewerID);
    }
    let ii = itemIndex.get(r.asin);
    if (ii === undefined) {
      ii = itemNames.length;
      itemIndex.set(r.asin, ii);
      itemNames.push(r.asin);
    }
    u[k] = ui;
    it[k] = ii;
  }
  const alive = new Uint8Array(m).fill(1);
  // Chronological order of all reviews: by time, then by file line.
  const order = Int32Array.from({ length: m }, (_, k) => k).sort((a, b) => {
    const ra = reviews[a]!;
    const rb = reviews[b]!;
    return ra.unixReviewTime - rb.unixReviewTime || ra.line - rb.line;
  });

  const census = () => {
    const users = new Set<number>();
    const items = new Set<number>();
    let n = 0;
    for (let k = 0; k < m; k++) {
      if (!alive[k]) continue;
      n++;
      users.add(u[k]!);
      items.add(it[k]!);
    }
    return { users: users.size, items: items.size, interactions: n };
  };
  const record = (filterName: string, description: string, before: ReturnType<typeof census>) => {
    const after = census();
    filters.push({
      name: filterName,
      description,
      removedUsers: before.users - after.users,
      removedItems: before.items - after.items,
      removedInteractions: before.interactions - after.interactions,
    });
    return after;
  };

  let state = census();
  {
    const seen = new Set<number>();
    const nItems = itemNames.length;
    for (const k of order) {
      const key = u[k]! * nItems + it[k]!;
      if (seen.has(key)) alive[k] = 0;
      else seen.add(key);
    }
    state = record('duplicate-interaction', 'a repeated (user, item) pair keeps its earliest review', state);
  }
  {
    const noMeta = new Uint8Array(itemNames.length);
    const noTitleOrImage = new Uint8Array(itemNames.length);
    for (let i = 0; i < itemNames.length; i++) {
      const md = meta.get(itemNames[i]!);
      if (md === undefined) noMeta[i] = 1;
      else if ((opts.requireTitle && !md.title?.trim()) || (opts.requireImage && !md.imUrl?.trim())) {
        noTitleOrImage[i] = 1;
      }
    }
    for (let k = 0; k < m; k++) if (noMeta[it[k]!]) alive[k] = 0;
    state = record('no-metadata', 'items with no record in the metadata file are removed', state);
    for (let k = 0; k < m; k++) if (noTitleOrImage[it[k]!]) alive[k] = 0;
    const need = [opts.requireTitle ? 'title' : '', opts.requireImage ? 'image URL' : ''].filter(Boolean);
    state = record(
      'missing-title-or-image',
      need.length > 0 ? `items whose metadata has no ${need.join(' or ')} are removed` : 'disabled',
      state,
    );
  }
  {
    const userDeg = new Int32Array(userNames.length);
    const itemDeg = new Int32Array(itemNames.length);
    for (let k = 0; k < m; k++) {
      if (!alive[k]) continue;
      userDeg[u[k]!]!++;
      itemDeg[it[k]!]!++;
    }
    let rounds = 0;
    for (;;) {
      let removed = 0;
      for (let k = 0; k < m; k++) {
        if (!alive[k]) continue;
        if (userDeg[u[k]!]! < opts.minUserInteractions || itemDeg[it[k]!]! < opts.minItemInteractions) {
          alive[k] = 0;
          removed++;
        }
      }
      if (removed === 0) break;
      rounds++;
      userDeg.fill(0);
      itemDeg.fill(0);
      for (let k = 0; k < m; k++) {
        if (!alive[k]) continue;
        userDeg[u[k]!]!++;
        itemDeg[it[k]!]!++;
      }
    }
    state = record(
      'k-core',
      `users with < ${opts.minUserInteractions} and items with < ${opts.minItemInteractions} interactions ` +
        `removed repeatedly until none is left (${rounds} removing round${rounds === 1 ? '' : 's'})`,
      state,
    );
  }

  // Per-user chronological sequences, users in first-appearance order.
  const perUser: number[][] = userNames.map(() => []);
  for (const k of order) if (alive[k]) perUser[u[k]!]!.push(it[k]!);
  const newItemId = new Int32Array(itemNames.length);
  const items: (ItemMeta | null)[] = [null];
  const sequences: Int32Array[] = [];
  const userIds: string[] = [];
  for (let ui = 0; ui < perUser.length; ui++) {
    const seq = perUser[ui]!;
    if (seq.length === 0) continue;
    const out = new Int32Array(seq.length);
    for (let p = 0; p < seq.length; p++) {
      const ii = seq[p]!;
      if (newItemId[ii] === 0) {
        newItemId[ii] = items.length;
        const md = meta.get(itemNames[ii]!);
        items.push({ asin: itemNames[ii]!, title: md?.title ?? '', imageUrl: md?.imUrl ?? '' });
      }
      out[p] = newItemId[ii]!;
    }
    sequences.push(out);
    userIds.push(userNames[ui]!);
  }
  return {
    name: name ?? 'amazon2014',
    numItems: items.length - 1,
    sequences,
    userIds,
    items,
    provenance: {
      kind: 'amazon2014',
      files: files ?? [],
      filters,
      notes: [
        'each user ordered by unixReviewTime; equal times keep reviews-file line order (stable tie-break)',
        'users numbered by first line in the reviews file; item ids 1.. by first appearance in that walk',
      ],
    },
  };
}

/** Options of {@link loadAmazon2014}. */
export interface LoadAmazon2014Options extends Amazon2014Options {
  /** Directory holding the publisher's files (e.g. what {@link download} returned, or `--data-dir`). */
  readonly dir: string;
  /** Category; picks the publisher's file names. */
  readonly category: Amazon2014Category | (string & {});
  /** Override the file names inside `dir`. */
  readonly reviewsFile?: string;
  readonly metaFile?: string;
  /** Dataset name; defaults to the category in lower case. */
  readonly name?: string;
  /** How metadata strings are read: `python3` (default) or `python2` byte strings holding UTF-8. */
  readonly metaStrings?: 'python3' | 'python2';
}

/**
 * Loads a raw Amazon 2014 category (`reviews_<Category>_5.json.gz` and `meta_<Category>.json.gz`,
 * gzipped or already unpacked) and applies {@link preprocessAmazon2014}.
 *
 * @example
 * const { dir } = await download('Beauty', { cacheDir: '.cache/mmesid' });
 * const beauty = await loadAmazon2014({ dir, category: 'Beauty' });
 * beauty.provenance.filters; // what each filter removed
 */
export async function loadAmazon2014(options: LoadAmazon2014Options): Promise<Dataset> {
  const { dir, category, reviewsFile, metaFile, name, metaStrings, ...rest } = options;
  const { path, fs, fsp, crypto } = await nodeBuiltins();
  const names = amazon2014FileNames(category);
  const reviewsPath = path.join(dir, reviewsFile ?? names.reviews);
  const metaPath = path.join(dir, metaFile ?? names.meta);
  const describe = async (p: string): Promise<SourceFile> => {
    const stat = await fsp.stat(p);
    const hash = crypto.createHash('sha256');
    for await (const chunk of fs.createReadStream(p)) hash.update(chunk as Uint8Array);
    return { path: p, bytes: stat.size, sha256: hash.digest('hex') };
  };
  const [reviews, metaTable, files] = await Promise.all([
    readAmazon2014Reviews(reviewsPath),
    readAmazon2014Meta(metaPath, metaStrings ? { strings: metaStrings } : {}),
    Promise.all([describe(reviewsPath), describe(metaPath)]),
  ]);
  const ds = preprocessAmazon2014(reviews, metaTable.byAsin, {
    ...rest,
    name: name ?? category.toLowerCase(),
    files,
  });
  const notes = [`metadata strings read with ${metaStrings ?? 'python3'} semantics`];
  if (metaTable.repeatedLines > 0) {
    notes.push(
      `${metaTable.repeatedLines} metadata line(s) repeated an asin with the same title and image; the first was used`,
    );
  }
  if (metaTable.linesWithHighByteEscapes > 0 && metaStrings !== 'python2') {
    notes.push(
      `${metaTable.linesWithHighByteEscapes} metadata line(s) hold \\xNN escapes above 0x7f, read as code points ` +
        "(Python 3); if they are UTF-8 bytes written by Python 2, load with metaStrings: 'python2'",
    );
  }
  return { ...ds, provenance: { ...ds.provenance, notes: [...ds.provenance.notes, ...notes] } };
}
