import { describe, expect, it } from 'vitest';
import { SafetensorsError } from '../errors.js';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, readHeaderLength } from './header.js';

/** A file with the given header text (unpadded unless the text is) and `bufferBytes` zero bytes. */
function fileOf(header: string | object, bufferBytes = 0, lengthField?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + bufferBytes);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

function parseError(bytes: Uint8Array, fileSize?: number): SafetensorsError {
  try {
    parseSafetensorsHeader(bytes, 'bad.safetensors', fileSize === undefined ? {} : { fileSize });
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError');
}

const t = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

describe('parseSafetensorsHeader', () => {
  it('parses a valid header padded with spaces, in any key order, with metadata', () => {
    const header = `{"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"__metadata__":{"format":"pt"},"a":{"data_offsets":[0,4],"shape":[],"dtype":"I32"}}   `;
    const h = parseSafetensorsHeader(fileOf(header, 12), 'ok.safetensors');
    expect([...h.tensors.keys()]).toEqual(['a', 'b']); // offset order, not header order
    expect(h.tensors.get('b')).toEqual({ dtype: 'F32', shape: [2], dataOffsets: [4, 12], byteLength: 8 });
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataStart).toBe(8 + new TextEncoder().encode(header).byteLength);
    expect(h.fileSize).toBe(h.dataStart + 12);
  });

  it('accepts zero-size tensors sharing an offset and an empty header', () => {
    const h = parseSafetensorsHeader(fileOf({ e: t('F32', [0, 3], 0, 0), x: t('U8', [2], 0, 2) }, 2), 'f');
    expect([...h.tensors.keys()]).toEqual(['e', 'x']);
    expect(parseSafetensorsHeader(fileOf('{}'), 'f').tensors.size).toBe(0);
  });

  it('parses a header from a prefix when told the file size', () => {
    const full = fileOf({ w: t('F16', [4], 0, 8) }, 8);
    const prefix = full.subarray(0, full.byteLength - 8);
    expect(
      parseSafetensorsHeader(prefix, 'f', { fileSize: full.byteLength }).tensors.get('w')?.byteLength,
    ).toBe(8);
  });

  it('names the file in every error and the tensor where one is at fault', () => {
    const e = parseError(fileOf({ w: t('F32', [3], 0, 8) }, 8));
    expect(e.file).toBe('bad.safetensors');
    expect(e.tensor).toBe('w');
    expect(e.message).toContain('bad.safetensors [w]');
  });

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), /shorter than the 8-byte/],
    ['a header length beyond the file', fileOf('{}', 0, 100n), /runs past the end of the file/],
    ['a header length beyond the 100 MB limit', fileOf('{}', 0, 2n ** 62n), /exceeds the .*-byte limit/],
    ['invalid JSON', fileOf('{"a": '), /not valid JSON/],
    ['a header that is not a JSON object', fileOf('[1,2]'), /does not start with/],
    ['trailing non-space bytes after the JSON', fileOf('{} []'), /not valid JSON/],
    [
      'invalid UTF-8',
      (() => {
        const b = fileOf('{"xx":1}');
        b[10] = 0xff;
        return b;
      })(),
      /not valid UTF-8/,
    ],
    ['non-string metadata', fileOf({ __metadata__: { step: 3 } }), /__metadata__\["step"\]/],
    ['metadata that is not an object', fileOf({ __metadata__: 'x' }), /__metadata__ is not an object/],
  ])('rejects %s', (_what, bytes, message) => {
    expect(parseError(bytes).message).toMatch(message);
  });

  it('rejects a tensor entry that is not an object', () => {
    const e = parseError(fileOf('{"a":1}'));
    expect(e.message).toMatch(/not an object \{dtype/);
    expect(e.tensor).toBe('a');
  });

  it.each([
    ['an unknown dtype', { w: t('F4', [1], 0, 1) }, 1, /unknown dtype "F4"/],
    ['a missing dtype', { w: { shape: [1], data_offsets: [0, 4] } }, 4, /unknown dtype undefined/],
    ['a negative dimension', { w: t('F32', [-1], 0, 4) }, 4, /not a list of non-negative integers/],
    ['a fractional dimension', { w: t('F32', [1.5], 0, 4) }, 4, /not a list of non-negative integers/],
    ['a shape that is not a list', { w: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }, 16, /shape 4/],
    [
      'offsets that are not a pair',
      { w: { dtype: 'U8', shape: [1], data_offsets: [0] } },
      1,
      /data_offsets \[0\]/,
    ],
    ['reversed offsets', { w: t('U8', [0], 4, 0) }, 4, /0 <= begin <= end/],
    ['a byte count that does not match the shape', { w: t('F32', [3], 0, 8) }, 8, /needs 3 x 4 = 12/],
    ['offsets outside the buffer', { w: t('U8', [8], 0, 8) }, 4, /run past the end of the 4-byte buffer/],
    ['overlapping tensors', { a: t('U8', [4], 0, 4), b: t('U8', [4], 2, 6) }, 6, /overlap/],
    ['a gap between tensors', { a: t('U8', [2], 0, 2), b: t('U8', [2], 3, 5) }, 5, /leave a gap/],
    ['a buffer that does not start at 0', { a: t('U8', [2], 1, 3) }, 3, /leave a gap after byte 0/],
    ['bytes after the last tensor', { a: t('U8', [2], 0, 2) }, 5, /cover 2 bytes but .* is 5 bytes/],
  ])('rejects %s', (_what, header, bufferBytes, message) => {
    const e = parseError(fileOf(header, bufferBytes));
    expect(e.message).toMatch(message);
  });

  it('rejects a truncated file (tensor bytes cut off)', () => {
    const full = fileOf({ a: t('F32', [4], 0, 16) }, 16);
    const e = parseError(full.subarray(0, full.byteLength - 3));
    expect(e.tensor).toBe('a');
    expect(e.message).toMatch(/truncated/);
  });

  it('readHeaderLength validates the length field on its own', () => {
    expect(readHeaderLength(fileOf('{}'), 'f')).toBe(2);
    expect(() => readHeaderLength(fileOf('{}'), 'f', 5)).toThrow(SafetensorsError);
    expect(MAX_HEADER_BYTES).toBe(100_000_000);
  });
});
