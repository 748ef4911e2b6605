import { nodeBuiltins } from '@mmesid/core';
import { formatCsv, parseCsvTable } from './csv.js';
import type { Dataset, ItemMeta, SourceFile } from './dataset.js';
import {
  DataFormatError,
  DatasetError,
  DuplicateItemError,
  DuplicateUserError,
  InvalidIdError,
  quoteValue,
  UnknownItemError,
} from './errors.js';

/** The user sequences of a `sequences.txt` file, in file order. */
export interface AuthorsSequences {
  /** The first field of each line. */
  readonly userIds: string[];
  /** The item ids of each line, oldest first. */
  readonly sequences: Int32Array[];
  /** The 1-based line of each user, for later error messages. */
  readonly lines: Int32Array;
  /** The largest item id seen. */
  readonly maxItemId: number;
}

/** Options of {@link parseAuthorsSequences}. */
export interface ParseSequencesOptions {
  /** File name shown in errors. */
  readonly file?: string;
  /** When given, an item id above it throws {@link UnknownItemError} ("beyond the item table"). */
  readonly numItems?: number;
}

const MAX_ID = 2 ** 31 - 1;

/**
 * Parses the authors' `sequences.txt` (the MME-SID repository's `Beauty_new.txt`): one line per
 * user, `user item item ...`, separated by spaces, items oldest first. Item ids are 1-based; 0 is
 * padding and may not appear.
 *
 * @throws {InvalidIdError} a field that is not a decimal integer, or item id 0.
 * @throws {UnknownItemError} an item id above `numItems`.
 * @throws {DuplicateUserError} a user id on a second line.
 * @throws {DataFormatError} an empty line, a user with no items, or a file with no users.
 */
export function parseAuthorsSequences(text: string, options: ParseSequencesOptions = {}): AuthorsSequences {
  const file = options.file ?? 'sequences.txt';
  const userIds: string[] = [];
  const sequences: Int32Array[] = [];
  const lines: number[] = [];
  const seen = new Map<string, number>();
  let maxItemId = 0;
  const n = text.length;
  let pos = 0;
  let line = 0;
  const items: number[] = [];
  while (pos < n) {
    line++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const stop = end > pos && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    items.length = 0;
    let userId: string | undefined;
    let i = pos;
    while (i < stop) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09) {
        i++;
        continue;
      }
      let j = i;
      while (j < stop && text.charCodeAt(j) !== 0x20 && text.charCodeAt(j) !== 0x09) j++;
      const token = text.slice(i, j);
      const loc = { file, line, column: i - pos + 1 };
      if (!/^[0-9]+$/.test(token)) {
        throw new InvalidIdError(
          loc,
          `${userId === undefined ? 'user' : 'item'} id ${quoteValue(token)} is not a non-negative integer`,
        );
      }
      const value = Number(token);
      if (value > MAX_ID) throw new InvalidIdError(loc, `id ${quoteValue(token)} is larger than ${MAX_ID}`);
      if (userId === undefined) {
        userId = String(value);
        const first = seen.get(userId);
        if (first !== undefined) throw new DuplicateUserError(loc, userId, first);
        seen.set(userId, line);
      } else {
        if (value === 0)
          throw new InvalidIdError(loc, 'item id 0 is the padding id and cannot be an interaction');
        if (options.numItems !== undefined && value > options.numItems) {
          throw new UnknownItemError(
            loc,
            `item id ${value} is beyond the item table, whose largest id is ${options.numItems}`,
          );
        }
        if (value > maxItemId) maxItemId = value;
        items.push(value);
      }
      i = j;
    }
    if (userId === undefined) {
      if (end === n) break; // text after the last line break is only blanks
      throw new DataFormatError({ file, line }, 'empty line; expected a user id followed by item ids');
    }
    if (items.length === 0) throw new DataFormatError({ file, line }, `user ${userId} has no items`);
    userIds.push(userId);
    sequences.push(Int32Array.from(items));
    lines.push(line);
    pos = end + 1;
  }
  // An empty file would be cached as a dataset of 0 users and fail much later, inside training.
  if (userIds.length === 0)
    throw new DataFormatError(
      { file, line: 1 },
      'the file has no users (it is empty or blank); expected one line per user',
    );
  return { userIds, sequences, lines: Int32Array.from(lines), maxItemId };
}

/** The item table of an `items.csv` file. */
export interface AuthorsItems {
  /** Indexed by item id; `items[0]` is `null` (padding); ids 1..numItems are all present. */
  readonly items: (ItemMeta | null)[];
  /** The largest id in the table. */
  readonly numItems: number;
  /** How many rows the table has. */
  readonly rows: number;
}

const ITEM_COLUMNS = ['asin', 'title', 'imUrl', 'id'] as const;

/**
 * Parses the authors' `items.csv` (`asin,title,imUrl,id`, RFC 4180 quoting; the repository's
 * `Beauty_text_img.csv`) with a real CSV parser: a quoted title may hold a line break (Beauty
 * item 9364 does). Columns are found by header name; other columns are allowed and ignored.
 *
 * @throws {CsvFieldCountError} a row whose field count differs from the header's.
 * @throws {InvalidIdError} an id that is not a positive integer.
 * @throws {DuplicateItemError} an id or asin on a second row.
 * @throws {DataFormatError} a missing or repeated column, no items, or a gap in the ids (they must run 1..N).
 */
export function parseAuthorsItems(text: string, options: { readonly file?: string } = {}): AuthorsItems {
  const file = options.file ?? 'items.csv';
  const table = parseCsvTable(text, file);
  const col = {} as Record<(typeof ITEM_COLUMNS)[number], number>;
  for (const name of ITEM_COLUMNS) {
    const k = table.header.indexOf(name);
    if (k < 0) {
      throw new DataFormatError(
        { file, line: 1 },
        `the header has no ${JSON.stringify(name)} column; expected ${ITEM_COLUMNS.join(',')}`,
      );
    }
    col[name] = k;
  }
  const byId = new Map<number, ItemMeta>();
  const idLine = new Map<number, number>();
  const asinLine = new Map<string, number>();
  let numItems = 0;
  for (const row of table.rows) {
    const f = row.fields;
    const idText = f[col.id]!;
    const loc = { file, line: row.line };
    if (!/^[0-9]+$/.test(idText) || Number(idText) === 0 || Number(idText) > MAX_ID) {
      throw new InvalidIdError(loc, `item id ${quoteValue(idText)} is not a positive integer (0 is padding)`);
    }
    const id = Number(idText);
    const prev = idLine.get(id);
    if (prev !== undefined)
      throw new DuplicateItemError(loc, `item id ${id} appears again (first on line ${prev})`);
    const asin = f[col.asin]!;
    const prevAsin = asinLine.get(asin);
    if (prevAsin !== undefined) {
      throw new DuplicateItemError(loc, `asin ${quoteValue(asin)} appears again (first on line ${prevAsin})`);
    }
    idLine.set(id, row.line);
    asinLine.set(asin, row.line);
    byId.set(id, { asin, title: f[col.title]!, imageUrl: f[col.imUrl]! });
    if (id > numItems) numItems = id;
  }
  if (byId.size === 0) throw new DataFormatError({ file, line: 2 }, 'the table has a header but no items');
  // Ids run 1..N without gaps (the authors' tables do; saveAuthorsDataset writes them so): a gap is
  // an item with no title or image that every consumer would have to special-case.
  if (byId.size !== numItems) {
    let missing = 1;
    while (byId.has(missing)) missing++;
    throw new DataFormatError(
      { file, line: idLine.get(numItems) ?? 1 },
      `item ids have gaps: ${numItems - byId.size} of 1..${numItems} are missing, the first is ${missing}; expected every id from 1 to the largest`,
    );
  }
  const items: (ItemMeta | null)[] = new Array(numItems + 1).fill(null);
  for (const [id, meta] of byId) items[id] = meta;
  return { items, numItems, rows: table.rows.length };
}

/** Options of {@link loadAuthorsDataset}. */
export interface LoadAuthorsOptions {
  /** Dataset name; defaults to the directory's base name. */
  readonly name?: string;
  /** Sequence file inside the directory (default `sequences.txt`). */
  readonly sequencesFile?: string;
  /**
   * Item table inside the directory (default `items.csv`). If the default file is absent the
   * dataset has no metadata and `numItems` is the largest id in the sequences; a file named here
   * explicitly must exist. `false` skips the table.
   */
  readonly itemsFile?: string | false;
}

/**
 * Loads a dataset in the MME-SID authors' layout: `sequences.txt` plus `items.csv`, as in
 * `../shared/datasets/beauty`. Every item id in the sequences is checked against the item table.
 * The files are read as they are: no filter, no re-indexing (the provenance lists them with size
 * and sha256).
 *
 * @example
 * const beauty = await loadAuthorsDataset('/data/beauty');
 * beauty.numItems; // 12086
 * beauty.items[1]?.title; // 'OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce'
 */
export async function loadAuthorsDataset(dir: string, options: LoadAuthorsOptions = {}): Promise<Dataset> {
  const { fsp, path, crypto } = await nodeBuiltins();
  const files: SourceFile[] = [];
  const notes: string[] = [];
  const read = async (p: string): Promise<string> => {
    let buf: Uint8Array;
    try {
      buf = await fsp.readFile(p);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      throw new DataFormatError({ file: p }, `cannot read (${code ?? (cause as Error).message})`, { cause });
    }
    files.push({
      path: p,
      bytes: buf.byteLength,
      sha256: crypto.createHash('sha256').update(buf).digest('hex'),
    });
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch (cause) {
      throw new DataFormatError({ file: p }, 'the file is not valid UTF-8', { cause });
    }
  };

  let table: AuthorsItems | undefined;
  if (options.itemsFile !== false) {
    const itemsPath = path.join(dir, options.itemsFile ?? 'items.csv');
    const exists = await fsp.access(itemsPath).then(
      () => true,
      () => false,
    );
    if (exists || options.itemsFile !== undefined) {
      table = parseAuthorsItems(await read(itemsPath), { file: itemsPath });
    } else {
      notes.push(`no item table (${itemsPath} is absent): numItems is the largest item id in the sequences`);
    }
  }
  const seqPath = path.join(dir, options.sequencesFile ?? 'sequences.txt');
  const parsed = parseAuthorsSequences(await read(seqPath), {
    file: seqPath,
    ...(table ? { numItems: table.numItems } : {}),
  });
  const numItems = table?.numItems ?? parsed.maxItemId;
  notes.push('sequences and ids exactly as in the files: no filter, no re-indexing; items oldest first');
  return {
    name: options.name ?? path.basename(path.resolve(dir)),
    numItems,
    sequences: parsed.sequences,
    userIds: parsed.userIds,
    items: table?.items ?? new Array<ItemMeta | null>(numItems + 1).fill(null),
    provenance: { kind: 'authors', files, filters: [], notes },
  };
}

/**
 * Writes a dataset in the authors' layout, so a preprocessed Amazon 2014 category or a synthetic
 * dataset can be cached and read back with {@link loadAuthorsDataset}: `sequences.txt` with users
 * numbered 1..N in dataset order (the source's user ids are not kept) and `items.csv`
 * (`asin,title,imUrl,id`, quoted as RFC 4180 requires). Returns the two paths.
 *
 * @throws {DatasetError} when an item has no metadata (the table must cover every id).
 */
export async function saveAuthorsDataset(
  dir: string,
  dataset: Pick<Dataset, 'sequences' | 'items' | 'numItems'>,
): Promise<{ readonly sequences: string; readonly items: string }> {
  const { fsp, path } = await nodeBuiltins();
  const rows: string[][] = [['asin', 'title', 'imUrl', 'id']];
  for (let id = 1; id <= dataset.numItems; id++) {
    const m = dataset.items[id];
    if (!m)
      throw new DatasetError(`saveAuthorsDataset: item ${id} has no metadata; items.csv must list every id`);
    rows.push([m.asin, m.title, m.imageUrl, String(id)]);
  }
  let text = '';
  dataset.sequences.forEach((seq, u) => {
    text += `${u + 1} ${seq.join(' ')}\n`;
  });
  await fsp.mkdir(dir, { recursive: true });
  const out = { sequences: path.join(dir, 'sequences.txt'), items: path.join(dir, 'items.csv') };
  await fsp.writeFile(out.sequences, text);
  await fsp.writeFile(out.items, formatCsv(rows));
  return out;
}
