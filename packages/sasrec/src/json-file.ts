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

/** Writes JSON to a temporary file beside `target`, then renames it over `target` (atomic on POSIX). */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  const { fsp } = await nodeFs();
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await fsp.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Reads and parses a JSON file; the error names the file. */
export async function readJson(file: string): Promise<unknown> {
  const { fsp } = await nodeFs();
  const text = await fsp.readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new MmesidError(`${file}: not valid JSON (${(cause as Error).message})`, { cause });
  }
}
