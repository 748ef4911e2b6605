import type * as NodeFsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { MmesidError } from '@mmesid/tensor';

/** `node:fs/promises` and `node:path`, loaded on first use so the rest of the package bundles for browsers. */
export async function nodeFs(): Promise<{ fsp: typeof NodeFsPromises; path: typeof NodePath }> {
  try {
    const [fsp, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    return { fsp, path };
  } catch (cause) {
    throw new MmesidError('@mmesid/sasrec: checkpoints and exported tables are files and need Node.js', {
      cause,
    });
  }
}

/** JSON helpers shared by every package (atomic write, read naming the file). */
export { readJson, writeJsonAtomic } from '@mmesid/tensor';
