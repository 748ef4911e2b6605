/**
 * Files written as one unit (Node only; `node:fs` is imported on first use). Every output of the
 * project (a checkpoint, an export, a cache, a report) is written to a temporary name beside its
 * target and renamed over it, so a reader sees the old contents or the complete new ones, never a
 * prefix, and an interrupted run leaves at most a `*.tmp-*` sibling.
 */
import type { FileHandle } from 'node:fs/promises';
import { MmesidError } from './errors.js';
import { type JsonErrorClass, parseJson } from './json.js';
import { nodeBuiltins } from './node-builtins.js';

const PURPOSE = 'writing and reading checkpoint and export files';

/** `<pid>-<12 random hex digits>`: unique among concurrent writers of the same target. */
function tempTag(): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const rand = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `${pid}-${rand}`;
}

/** A fully written temporary file waiting to replace its target. */
export interface PendingFile {
  readonly target: string;
  readonly tmp: string;
  /** Renames the temporary file over the target. */
  commit(): Promise<void>;
  /** Deletes the temporary file (idempotent). */
  abort(): Promise<void>;
}

/**
 * A file-system error of a write (Node's `ENOSPC: no space left on device, write` names no path) as
 * an MmesidError naming the file; `code` and `cause` are kept. Other errors pass through unchanged.
 */
export function namedWriteError(target: string, e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string' || e instanceof MmesidError) return e;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOENT: 'its folder does not exist',
  };
  return Object.assign(
    new MmesidError(`${target}: cannot write: ${why[code] ?? code} (${code})`, { cause: e }),
    {
      code,
    },
  );
}

/**
 * Writes `target`'s future contents into a temporary file beside it through `write`, flushes it
 * to disk, and returns it pending, for writers that must replace several files together (commit
 * them all once all are written). If `write` or the flush fails, the temporary file is removed and
 * the error rethrown.
 */
export async function writeTemp(
  target: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<PendingFile> {
  const { fsp } = await nodeBuiltins(PURPOSE);
  const tmp = `${target}.tmp-${tempTag()}`;
  // 'wx' fails instead of clobbering if the random name somehow exists.
  let fh: FileHandle;
  try {
    fh = await fsp.open(tmp, 'wx');
  } catch (e) {
    throw namedWriteError(target, e);
  }
  const abort = async () => {
    await fsp.rm(tmp, { force: true });
  };
  try {
    await write(fh);
    // Flush before the rename: otherwise a crash right after it could leave the target empty.
    await fh.datasync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    await abort();
    throw namedWriteError(target, e);
  }
  return {
    target,
    tmp,
    commit: async () => {
      await fsp.rename(tmp, target);
    },
    abort,
  };
}

/** Writes a file atomically: nothing at `target` changes unless `write` (and the flush) completes. */
export async function writeFileAtomic(
  target: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  const pending = await writeTemp(target, write);
  try {
    await pending.commit();
  } catch (e) {
    await pending.abort();
    throw namedWriteError(target, e);
  }
}

/** Writes text or bytes to `target` atomically. */
export async function writeBytesAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await writeFileAtomic(target, async (fh) => {
    await fh.writeFile(data);
  });
}

/** Writes pretty-printed JSON (trailing newline) to `target` atomically. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeBytesAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
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
  const { fsp, path } = await nodeBuiltins(PURPOSE);
  const parent = path.dirname(target);
  await fsp.mkdir(parent, { recursive: true });
  const t = tempTag();
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

/**
 * Reads and parses a JSON file that must say each key once ({@link parseJson}).
 * @throws {MmesidError} (or `errorClass`) naming the file when it cannot be read (the `code`, e.g.
 *   `ENOENT`, stays on the error), is not valid JSON, or says a key twice
 */
export async function readJson(file: string, errorClass: JsonErrorClass = MmesidError): Promise<unknown> {
  const { fsp } = await nodeBuiltins(PURPOSE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    // Node's EISDIR/EACCES messages name no path: say which file, keep `code` for callers.
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') throw e;
    throw Object.assign(new errorClass(`${file}: cannot read (${(e as Error).message})`, { cause: e }), {
      code,
    });
  }
  return parseJson(text, file, errorClass);
}

/** {@link readJson}, or undefined when the file does not exist. */
export async function readJsonIfExists(
  file: string,
  errorClass: JsonErrorClass = MmesidError,
): Promise<unknown> {
  try {
    return await readJson(file, errorClass);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** True when `path` exists (file or directory). */
export async function pathExists(path: string): Promise<boolean> {
  const { fsp } = await nodeBuiltins(PURPOSE);
  return fsp.stat(path).then(
    () => true,
    () => false,
  );
}
