import { MmesidError } from '@mmesid/tensor';

/**
 * Writing a directory of files as one unit (Node only): everything goes to a sibling temporary
 * directory first, which then replaces the target by renames. A reader sees either the old
 * directory or the new one, never a mix; a crash leaves at most a `.tmp-` or `.old-` sibling.
 */
export async function writeDirAtomic(
  target: string,
  write: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const { mkdir, rename, rm, stat } = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const old = join(parent, `.${basename(target)}.old-${tag}`);
  await mkdir(tmp, { recursive: true });
  try {
    await write(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  if (exists) await rename(target, old);
  await rename(tmp, target);
  if (exists) await rm(old, { recursive: true, force: true });
}

/** Writes a JSON file (pretty-printed, trailing newline). */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reads and parses a JSON file; undefined if it does not exist. */
export async function readJsonIfExists(path: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MmesidError(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}
