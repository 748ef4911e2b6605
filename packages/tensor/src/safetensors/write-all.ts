import type { FileHandle } from 'node:fs/promises';

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
