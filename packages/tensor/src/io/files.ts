/**
 * File helpers shared by the packages that save checkpoints and exports (Node only; `node:fs` is
 * imported on first use so browser bundles of this package never pull it in).
 */
import { MmesidError } from '../errors.js';
import { namedWriteError } from '../safetensors/atomic.js';

async function nodeFs() {
  try {
    const [fsp, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    return { fsp, path };
  } catch (cause) {
    throw new MmesidError('writing and reading checkpoint files needs Node.js (node:fs)', { cause });
  }
}

function tag(): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  return `${pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Writes a directory as one unit: `write` fills a sibling temporary directory, which then
 * replaces `target` by renames. A reader sees the old directory or the new one, never a mix; if
 * `write` throws, the temporary directory is removed and `target` is untouched; a crash leaves at
 * most a `.<name>.tmp-*` or `.<name>.old-*` sibling.
 *
 * @example
 * await writeDirAtomic('runs/a/export', async (dir) => {
 *   await writeJsonAtomic(`${dir}/meta.json`, { ok: true });
 * });
 */
export async function writeDirAtomic(
  target: string,
  write: (tmpDir: string) => Promise<void>,
): Promise<void> {
  const { fsp, path } = await nodeFs();
  const parent = path.dirname(target);
  await fsp.mkdir(parent, { recursive: true });
  const t = tag();
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${t}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${t}`);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    await write(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const existed = await pathExists(target);
  if (existed) await fsp.rename(target, old);
  await fsp.rename(tmp, target);
  if (existed) await fsp.rm(old, { recursive: true, force: true });
}

/** Writes pretty-printed JSON (trailing newline) to a temporary file, then renames it over `target`. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  const { fsp } = await nodeFs();
  const tmp = `${target}.tmp-${tag()}`;
  try {
    await fsp.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw namedWriteError(target, e);
  }
}

/**
 * Reads and parses a JSON file.
 * @throws MmesidError naming the file when it is not valid JSON (a missing file throws ENOENT)
 */
export async function readJson(file: string): Promise<unknown> {
  const { fsp } = await nodeFs();
  const text = await fsp.readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new MmesidError(`${file}: not valid JSON (${(cause as Error).message})`, { cause });
  }
}

/** {@link readJson}, or undefined when the file does not exist. */
export async function readJsonIfExists(file: string): Promise<unknown> {
  try {
    return await readJson(file);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** True when `path` exists (file or directory). */
export async function pathExists(path: string): Promise<boolean> {
  const { fsp } = await nodeFs();
  return fsp.stat(path).then(
    () => true,
    () => false,
  );
}
