/**
 * The dataset side of a run folder: item titles and image URLs from `data/items.csv` and the
 * leave-one-out test users from `data/sequences.txt` (the authors' layout, read with
 * `@mmesid/datasets`' parsers and split the way the pipeline splits).
 */
import { leaveOneOut, parseAuthorsItems, parseAuthorsSequences } from '@mmesid/datasets';
import type { TestUser } from './protocol.js';
import { DATA_FILES } from './run-download.js';

/** Titles, image URLs and test users, with a note for each part that is missing or unusable. */
export interface RunData {
  titles: string[] | null;
  imageUrls: string[] | null;
  testUsers: TestUser[] | null;
  notes: string[];
}

/**
 * Parses the optional `data/` files of a run for a model over items 1..`numItems`. A file that is
 * absent or does not fit the run becomes a note instead of an error: the model still works.
 */
export function readRunData(files: ReadonlyMap<string, Uint8Array>, numItems: number): RunData {
  const dec = new TextDecoder();
  const notes: string[] = [];
  let titles: string[] | null = null;
  let imageUrls: string[] | null = null;
  let testUsers: TestUser[] | null = null;
  const itemsBytes = files.get(DATA_FILES.items);
  if (!itemsBytes) notes.push(`no ${DATA_FILES.items} in the run folder: items are shown by id`);
  else {
    try {
      const parsed = parseAuthorsItems(dec.decode(itemsBytes), { file: DATA_FILES.items });
      if (parsed.numItems > numItems)
        notes.push(
          `${DATA_FILES.items} lists items up to ${parsed.numItems} but the model has ${numItems}: titles ignored`,
        );
      else {
        titles = [];
        imageUrls = [];
        for (let id = 0; id <= numItems; id++) {
          const m = parsed.items[id];
          titles.push(m?.title ?? '');
          imageUrls.push(m?.imageUrl ?? '');
        }
      }
    } catch (e) {
      notes.push(`${DATA_FILES.items}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const seqBytes = files.get(DATA_FILES.sequences);
  if (!seqBytes) notes.push(`no ${DATA_FILES.sequences} in the run folder: no test users`);
  else {
    try {
      const parsed = parseAuthorsSequences(dec.decode(seqBytes), { file: DATA_FILES.sequences, numItems });
      const split = leaveOneOut({ sequences: parsed.sequences, numItems });
      testUsers = split.test.map((e) => ({
        user: parsed.userIds[e.user]!,
        history: Array.from(e.history),
        target: e.target,
      }));
    } catch (e) {
      notes.push(`${DATA_FILES.sequences}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { titles, imageUrls, testUsers, notes };
}
