/**
 * Atomic file replacement for Node: write a uniquely named temporary file beside the target, flush it,
 * then rename it over the target. Readers see the old file or the complete new one, never a prefix.
 * Node's fs is imported dynamically so that browser bundles of this package never pull it in.
 */
import type { FileHandle } from 'node:fs/promises';
import { MmesidError } from '../errors.js';

/** A fully written temporary file waiting to replace its target. Internal. */
export interface PendingFile {
  target: string;
  tmp: string;
  /** Renames the temporary file over the target. */
  commit(): Promise<void>;
  /** Deletes the temporary file (idempotent). */
  abort(): Promise<void>;
}

function tempName(target: string): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const rand = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `${target}.tmp-${pid}-${rand}`;
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
 * Writes `target`'s future contents into a temporary file through `write` and returns it pending.
 * If `write` (or flushing) fails, the temporary file is removed and the error rethrown. Internal.
 */
export async function writeTemp(
  target: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<PendingFile> {
  const fs = await import('node:fs/promises');
  const tmp = tempName(target);
  // 'wx' fails instead of clobbering if the random name somehow exists.
  let fh: FileHandle;
  try {
    fh = await fs.open(tmp, 'wx');
  } catch (e) {
    throw namedWriteError(target, e);
  }
  const abort = async () => {
    await fs.rm(tmp, { force: true });
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
      await fs.rename(tmp, target);
    },
    abort,
  };
}

/**
 * Writes a file atomically: nothing at `target` changes unless `write` completes. Internal.
 */
export async function writeFileAtomic(
  target: string,
  write: (fh: FileHandle) => Promise<void>,
): Promise<void> {
  const pending = await writeTemp(target, write);
  try {
    await pending.commit();
  } catch (e) {
    await pending.abort();
    throw e;
  }
}

/**
 * Largest single read or write we issue: Node rejects lengths of 2 GiB and more, and tensors of an 8B
 * model exceed that.
 */
export const IO_CHUNK_BYTES = 1 << 28;

/** Writes all of `bytes` at `position`, looping over short writes. Internal. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const len = Math.min(bytes.byteLength - done, IO_CHUNK_BYTES);
    const { bytesWritten } = await fh.write(bytes, done, len, position + done);
    if (bytesWritten <= 0) throw new Error(`write stalled after ${done} of ${bytes.byteLength} bytes`);
    done += bytesWritten;
  }
}
