/**
 * Single safetensors files on disk (Node only): open once, read tensors one at a time from their
 * byte ranges, write atomically. Node's fs is imported dynamically so that a browser bundle of this
 * package never pulls it in.
 */
import type { FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from '@mmesid/core';
import { SafetensorsError } from '../errors.js';
import type { tf } from '../tf.js';
import type { SafetensorsRawTensor, SafetensorsTfDtype } from './decode.js';
import {
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './header.js';
import { rawToTfTensor } from './read.js';
import {
  plannedTensorBytes,
  planSafetensors,
  type SafetensorsInputs,
  type SafetensorsPlan,
  type SafetensorsSerializeOptions,
} from './write.js';
import { IO_CHUNK_BYTES, writeAll } from './write-all.js';

/** Options of `readTensor`. */
export interface SafetensorsReadOptions {
  /** tfjs dtype to read as; default float32 for float dtypes, int32 for integers, bool for BOOL. */
  dtype?: SafetensorsTfDtype;
}

/**
 * An open safetensors file whose header has been validated. Tensors are read on demand, each from its
 * own byte range, so peak memory is one tensor rather than the file.
 */
export interface SafetensorsFile {
  /** The path it was opened with (used in error messages). */
  readonly path: string;
  readonly header: SafetensorsHeader;
  /** The `__metadata__` string map (`{}` when absent). */
  readonly metadata: Record<string, string>;
  /** Tensor names in file order. */
  keys(): string[];
  has(name: string): boolean;
  /** Dtype, shape and offsets of a tensor; throws `SafetensorsError` if there is no such tensor. */
  info(name: string): SafetensorsTensorInfo;
  /** Reads a tensor's raw little-endian bytes (a fresh buffer you own). */
  readTensorBytes(name: string): Promise<SafetensorsRawTensor>;
  /** Reads a tensor into a new tfjs tensor; the caller disposes it. */
  readTensor(name: string, options?: SafetensorsReadOptions): Promise<tf.Tensor>;
  /** Closes the file handle. Further reads throw. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Reads exactly `length` bytes at `position` into a new buffer, looping over short reads; running out
 * of file means it was truncated after we looked at it. Internal.
 */
export async function readRange(
  fh: FileHandle,
  position: number,
  length: number,
  file: string,
  tensor?: string,
): Promise<Uint8Array> {
  // A fresh ArrayBuffer starts at offset 0, so the bytes are aligned for any typed-array view.
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const chunk = Math.min(length - done, IO_CHUNK_BYTES);
    const { bytesRead } = await fh.read(out, done, chunk, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsError(
        file,
        `file ends after ${position + done} bytes, expected at least ${position + length} (truncated?)`,
        tensor,
      );
    }
    done += bytesRead;
  }
  return out;
}

/**
 * Opens a safetensors file and validates its header, reading only the first `8 + N` bytes.
 *
 * Use it for large checkpoints: each `readTensor` reads just that tensor's byte range with a file
 * handle, so an 8B model never needs to be in memory twice. Close it when done (`try/finally`).
 * For a directory (single file or sharded), use `openCheckpoint` instead.
 *
 * Gotchas: Node only (the browser build has no file system; use `readSafetensorsBytes`). I/O errors
 * such as a missing file are Node's own errors (with `code`, e.g. `ENOENT`); malformed contents throw
 * `SafetensorsError`.
 *
 * @example
 * const f = await openSafetensors('model.safetensors');
 * try {
 *   const w = await f.readTensor('model.embed_tokens.weight'); // float32 [512, 64]
 *   w.dispose();
 * } finally {
 *   await f.close();
 * }
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const fs = await import('node:fs/promises');
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r');
    if ((await fh.stat()).isDirectory()) {
      await fh.close();
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    const why: Record<string, string> = {
      ENOENT: 'no such file',
      EISDIR: 'is a directory, expected a .safetensors file',
      EACCES: 'permission denied',
    };
    // The code stays on the error for callers that branch on it (ENOENT: try another file name).
    throw Object.assign(new SafetensorsError(path, `cannot open: ${why[code] ?? code} (${code})`), { code });
  }
  let header: SafetensorsHeader;
  try {
    const { size } = await fh.stat();
    const first = await readRange(fh, 0, Math.min(8, size), path);
    const n = readHeaderLength(first, path, size);
    const prefix = new Uint8Array(8 + n);
    prefix.set(first, 0);
    prefix.set(await readRange(fh, 8, n, path), 8);
    header = parseSafetensorsHeader(prefix, path, { fileSize: size });
  } catch (e) {
    await fh.close();
    throw e;
  }
  return new OpenFile(path, fh, header);
}

class OpenFile implements SafetensorsFile {
  private handle: FileHandle | undefined;

  constructor(
    readonly path: string,
    fh: FileHandle,
    readonly header: SafetensorsHeader,
  ) {
    this.handle = fh;
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  keys(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new SafetensorsError(this.path, 'no such tensor in this file', name);
    return info;
  }

  async readTensorBytes(name: string): Promise<SafetensorsRawTensor> {
    const info = this.info(name);
    if (!this.handle) throw new SafetensorsError(this.path, 'file is closed', name);
    const data = await readRange(
      this.handle,
      this.header.dataStart + info.dataOffsets[0],
      info.byteLength,
      this.path,
      name,
    );
    return { dtype: info.dtype, shape: [...info.shape], data };
  }

  async readTensor(name: string, options: SafetensorsReadOptions = {}): Promise<tf.Tensor> {
    const raw = await this.readTensorBytes(name);
    // The bytes were just read into a buffer nobody else holds, so the tensor may adopt it.
    return rawToTfTensor(raw, {
      file: this.path,
      name,
      reuseBuffer: true,
      ...(options.dtype ? { dtype: options.dtype } : {}),
    });
  }

  async close(): Promise<void> {
    const fh = this.handle;
    this.handle = undefined;
    await fh?.close();
  }
}

/**
 * Reads every tensor of a safetensors file into tfjs tensors (one read per tensor, file order).
 *
 * The caller owns and disposes the tensors; on an error none is left allocated. For large files where
 * you need only some tensors, prefer `openSafetensors`.
 *
 * @example
 * const weights = await loadSafetensors('adapter_model.safetensors');
 * // ... use them ...
 * tf.dispose([...weights.values()]);
 */
export async function loadSafetensors(
  path: string,
  options: SafetensorsReadOptions = {},
): Promise<Map<string, tf.Tensor>> {
  const f = await openSafetensors(path);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const name of f.keys()) out.set(name, await f.readTensor(name, options));
    return out;
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    await f.close();
  }
}

/** Options of `saveSafetensors`. */
export interface SaveSafetensorsOptions extends Omit<SafetensorsSerializeOptions, 'file'> {
  /** `__metadata__` (string values); omitted from the header when undefined. */
  metadata?: Record<string, string>;
}

/**
 * Writes tensors to a safetensors file atomically, one tensor at a time (peak extra memory is one
 * tensor's bytes, not the file).
 *
 * Atomic: the file is written to `<path>.tmp-<pid>-<random>`, flushed, then renamed over `path`. If
 * anything fails (a value that does not fit its dtype, a full disk) the temporary file is deleted and
 * `path` is untouched. Only a killed process can leave a `.tmp-` file behind.
 *
 * The layout is the reference writer's (see `serializeSafetensors`), so Python reads the file as is.
 * Input tensors are not disposed. Add `{ metadata: { format: 'pt' } }` if Hugging Face `transformers`
 * is to load the file as a model checkpoint.
 *
 * @example
 * await saveSafetensors('model.safetensors', model.stateDict(), {
 *   metadata: { format: 'pt' },
 *   floatDtype: 'BF16',
 * });
 */
export async function saveSafetensors(
  path: string,
  tensors: SafetensorsInputs,
  options: SaveSafetensorsOptions = {},
): Promise<void> {
  const plan = planSafetensors(tensors, options.metadata, { ...options, file: path });
  await writeFileAtomic(path, (fh) => writePlan(fh, plan, path));
}

/** Streams a planned file into an open handle, one tensor at a time. Internal. */
export async function writePlan(fh: FileHandle, plan: SafetensorsPlan, path: string): Promise<void> {
  await writeAll(fh, plan.header, 0);
  for (const t of plan.tensors) {
    await writeAll(fh, await plannedTensorBytes(t, path), plan.header.byteLength + t.dataOffsets[0]);
  }
}
