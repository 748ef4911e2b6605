/**
 * Small Node-only file helpers (loaded lazily so that browser bundles never pull in `node:fs`).
 */
import { MmesidError } from '@mmesid/tensor';

/**
 * Writes a directory as one unit: files go to a sibling temporary directory, which then replaces
 * `target` by renames. A reader sees the old directory or the new one, never a mix.
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

/** Pretty-printed JSON with a trailing newline. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Parses a JSON file, or returns undefined when it does not exist. */
export async function readJsonIfExists(path: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MmesidError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(path).then(
    () => true,
    () => false,
  );
}
