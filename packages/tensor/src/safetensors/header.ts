/**
 * Parsing and validating the safetensors header. Pure and browser-safe: it needs only the first
 * `8 + N` bytes of a file and the file's total size, so a file reader can validate a multi-gigabyte
 * checkpoint without reading its tensors.
 */
import { firstDuplicateKey } from '@mmesid/core';
import { SafetensorsError } from '../errors.js';
import { isSafetensorsDtype, SAFETENSORS_DTYPE_SIZE, type SafetensorsDtype } from './dtypes.js';

/**
 * The largest header we accept (100 MB, the reference implementation's limit): a larger length field
 * is almost certainly garbage, and trusting it would make us allocate that much.
 */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor lives in a safetensors file and how to interpret its bytes. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  /** Row-major (C order) shape; `[]` is a scalar. */
  shape: number[];
  /** `[begin, end)` relative to the start of the byte buffer (the byte after the header). */
  dataOffsets: [number, number];
  /** `end - begin`. */
  byteLength: number;
}

/** A validated safetensors header. */
export interface SafetensorsHeader {
  /** `N`, the header length stored in the first 8 bytes (padding included). */
  headerLength: number;
  /** Absolute file offset of the byte buffer: `8 + N`. Add it to `dataOffsets` to seek in the file. */
  dataStart: number;
  /** Total file size the header implies (`dataStart` + buffer length). */
  fileSize: number;
  /** Tensors in file order (ascending offsets). */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** The optional `__metadata__` string map; `{}` when absent. */
  metadata: Record<string, string>;
}

/**
 * Reads the 8-byte little-endian header length and checks it against the file size.
 *
 * Use it when reading a file piecewise: read 8 bytes, call this, then read exactly `N` more bytes
 * and call {@link parseSafetensorsHeader}.
 *
 * @param bytes at least the first 8 bytes of the file
 * @param file name used in error messages
 * @param fileSize the file's total size (defaults to `bytes.byteLength`)
 * @throws SafetensorsError when the file is shorter than 8 bytes, the length exceeds
 *   {@link MAX_HEADER_BYTES} or runs past the end of the file.
 * @example
 * const n = readHeaderLength(first8, 'model.safetensors', stat.size);
 */
export function readHeaderLength(
  bytes: Uint8Array,
  file: string,
  fileSize: number = bytes.byteLength,
): number {
  if (fileSize < 8 || bytes.byteLength < 8) {
    throw new SafetensorsError(
      file,
      `file is ${fileSize} bytes, shorter than the 8-byte header length field`,
    );
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new SafetensorsError(
      file,
      `header length ${len} runs past the end of the file (${fileSize} bytes; truncated or not a safetensors file)`,
    );
  }
  return len;
}

/**
 * Parses and validates a safetensors header.
 *
 * Checks everything that can be checked without the tensor bytes: the JSON is a UTF-8 object starting
 * with `{` (trailing spaces allowed), every dtype is known, every shape is a list of non-negative
 * integers, each tensor's byte count equals `product(shape) * dtypeSize`, and the data offsets tile the
 * buffer exactly (contiguous from 0, no overlap, no gap, ending at the end of the file).
 *
 * @param bytes the file's first `8 + N` bytes (more is fine, e.g. the whole file)
 * @param file name used in error messages
 * @param options.fileSize the file's total size; defaults to `bytes.byteLength`, i.e. `bytes` is the
 *   whole file. Pass the real size when `bytes` is only the prefix.
 * @throws SafetensorsError naming the file (and the tensor when one is at fault)
 * @example
 * const header = parseSafetensorsHeader(fileBytes, 'model.safetensors');
 * for (const [name, info] of header.tensors) console.log(name, info.dtype, info.shape);
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  file: string,
  options: { fileSize?: number } = {},
): SafetensorsHeader {
  const fileSize = options.fileSize ?? bytes.byteLength;
  const headerLength = readHeaderLength(bytes, file, fileSize);
  const dataStart = 8 + headerLength;
  if (bytes.byteLength < dataStart) {
    throw new SafetensorsError(
      file,
      `need the first ${dataStart} bytes to parse the header, got ${bytes.byteLength}`,
    );
  }
  const raw = bytes.subarray(8, dataStart);
  // The spec requires the header to start with '{'; checking it first gives a clearer message for a
  // file that is not safetensors at all than a JSON syntax error would.
  if (raw[0] !== 0x7b) {
    throw new SafetensorsError(file, `header does not start with '{' (not a safetensors file?)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(file, 'header JSON is not an object');
  }
  // JSON.parse keeps the last of two equal keys: an F32 entry followed by an I32 entry of the
  // same name would silently reinterpret the bytes, and a second __metadata__ would replace the first.
  const dup = firstDuplicateKey(text);
  if (dup !== undefined) {
    throw new SafetensorsError(
      file,
      `header lists ${dup.path ? `key ${JSON.stringify(dup.key)} of ${JSON.stringify(dup.path)}` : `${JSON.stringify(dup.key)}`} twice (at character ${dup.offset} of the header); every name may appear once`,
      dup.path ? dup.path : dup.key === '__metadata__' ? undefined : dup.key,
    );
  }

  let metadata: Record<string, string> = {};
  const entries: [string, SafetensorsTensorInfo][] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value, file);
      continue;
    }
    entries.push([name, parseTensorInfo(value, file, name)]);
  }

  // Writers are free to list tensors in any order (stories260k's file is not sorted by name), so
  // validate the tiling in offset order, as the reference reader does.
  entries.sort(
    (a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1],
  );
  const bufferLength = fileSize - dataStart;
  let cursor = 0;
  for (const [name, info] of entries) {
    const [begin, end] = info.dataOffsets;
    if (end > bufferLength) {
      throw new SafetensorsError(
        file,
        `data_offsets [${begin}, ${end}] run past the end of the ${bufferLength}-byte buffer (file truncated?)`,
        name,
      );
    }
    if (begin < cursor) {
      throw new SafetensorsError(
        file,
        `data_offsets [${begin}, ${end}] overlap the previous tensor (which ends at ${cursor})`,
        name,
      );
    }
    if (begin > cursor) {
      throw new SafetensorsError(
        file,
        `data_offsets [${begin}, ${end}] leave a gap after byte ${cursor} of the buffer`,
        name,
      );
    }
    cursor = end;
  }
  if (cursor !== bufferLength) {
    throw new SafetensorsError(
      file,
      `tensors cover ${cursor} bytes but the buffer after the header is ${bufferLength} bytes (trailing garbage or missing tensors)`,
    );
  }
  return { headerLength, dataStart, fileSize, tensors: new Map(entries), metadata };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(file, '__metadata__ is not an object of strings');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') {
      throw new SafetensorsError(file, `__metadata__["${k}"] is ${JSON.stringify(v)}, expected a string`);
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays data instead of a prototype.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseTensorInfo(value: unknown, file: string, name: string): SafetensorsTensorInfo {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SafetensorsError(file, 'header entry is not an object {dtype, shape, data_offsets}', name);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSafetensorsDtype(dtype)) {
    throw new SafetensorsError(file, `unknown dtype ${JSON.stringify(dtype)}`, name);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(
      file,
      `shape ${JSON.stringify(shape)} is not a list of non-negative integers`,
      name,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new SafetensorsError(
      file,
      `data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`,
      name,
    );
  }
  const dims = shape as number[];
  const numel = dims.reduce((a, d) => a * d, 1);
  const expected = numel * SAFETENSORS_DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(expected)) {
    throw new SafetensorsError(file, `shape [${dims}] is too large to address`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== expected) {
    throw new SafetensorsError(
      file,
      `holds ${end - begin} bytes but ${dtype} [${dims}] needs ${numel} x ${SAFETENSORS_DTYPE_SIZE[dtype]} = ${expected}`,
      name,
    );
  }
  return { dtype, shape: [...dims], dataOffsets: [begin, end], byteLength: expected };
}
