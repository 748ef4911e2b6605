/**
 * The tokenizer of Karpathy's llama2.c (`tok512.bin`, `tokenizer.bin`, or the JSON form
 * `tokenizer.llama2c.json`), reproducing run.c's `encode()` and its printing exactly.
 */
import { MmesidError } from '@mmesid/tensor';

/** One vocabulary entry. */
export interface Llama2cPiece {
  /** The piece's text (UTF-8 decoded; byte tokens are the literal text "<0xNN>"). */
  piece: string;
  score: number;
}

const utf8 = new TextEncoder();
/** Bytes -> a string with one char per byte, so strings compare and concatenate like C byte strings. */
function binary(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>/;

/** SentencePiece's default surface of `<unk>` when decoding (U+2047 between spaces). */
export const DEFAULT_UNK_SURFACE = ' \u2047 ';

/**
 * run.c's tokenizer. `encode` follows run.c's algorithm (dummy-prefix space, code points looked up
 * whole or split into byte tokens `byte + 3`, then repeatedly merging the adjacent pair whose joined
 * text is the best-scoring vocabulary entry, leftmost on ties). `decode` is byte-correct UTF-8;
 * `renderRunC` prints like run.c (drops the space after BOS and every lone non-printable byte).
 *
 * A vocabulary without byte-fallback pieces (`<0x00>`..`<0xFF>` at ids 3..258; e.g. babyllama128's
 * `tok105.bin`, 105 single characters) cannot take run.c's `byte + 3` fallback, which would give
 * unrelated characters. There `encode` does what the model's own SentencePiece tokenizer does
 * ({@link byteFallback} is false): it removes leading and trailing spaces and collapses runs of spaces
 * (SentencePiece's `remove_extra_whitespaces`), and each maximal run of characters that are not in the
 * vocabulary becomes one `<unk>` (id 0); `decode` writes `<unk>` as {@link unkSurface}.
 *
 * @example
 * const tok = await Llama2cTokenizer.load('tokenizer.llama2c.json');
 * tok.encode('Once upon a time', { bos: true }); // [1, 403, 407, 261, 378]
 */
export class Llama2cTokenizer {
  readonly vocabSize: number;
  readonly bosId = 1;
  readonly eosId = 2;
  /** Piece bytes as binary strings, by id. */
  private readonly bytesOf: string[];
  private readonly scores: Float32Array;
  private readonly lookup = new Map<string, number>();
  /** Whether ids 3..258 are the 256 byte pieces (run.c's fallback for characters not in the vocabulary). */
  readonly byteFallback: boolean;
  readonly unkId = 0;
  /** What `decode` writes for `<unk>` in a vocabulary without byte fallback. */
  readonly unkSurface: string;

  constructor(
    readonly pieces: readonly Llama2cPiece[],
    opts: { unkSurface?: string } = {},
  ) {
    this.vocabSize = pieces.length;
    this.byteFallback =
      pieces.length >= 259 && pieces[3]?.piece === '<0x00>' && pieces[258]?.piece === '<0xFF>';
    this.unkSurface = opts.unkSurface ?? DEFAULT_UNK_SURFACE;
    this.bytesOf = pieces.map((p) => binary(utf8.encode(p.piece)));
    this.scores = Float32Array.from(pieces, (p) => p.score);
    // run.c binary-searches a sorted copy; with unique strings any lookup finds the same id. Keep the
    // first id on a duplicate so the result is at least deterministic.
    this.bytesOf.forEach((s, id) => {
      if (!this.lookup.has(s)) this.lookup.set(s, id);
    });
  }

  /** From the `tokenizer.llama2c.json` object (format "llama2c-tokenizer"). */
  static fromJson(obj: unknown, file = 'tokenizer JSON'): Llama2cTokenizer {
    const o = obj as { format?: string; pieces?: { id: number; piece: string; score: number }[] };
    if (o?.format !== 'llama2c-tokenizer' || !Array.isArray(o.pieces))
      throw new MmesidError(
        `${file}: not a llama2c-tokenizer JSON (expected "format": "llama2c-tokenizer" and "pieces")`,
      );
    const pieces: Llama2cPiece[] = [];
    for (const [i, p] of o.pieces.entries()) {
      if (p.id !== i || typeof p.piece !== 'string' || typeof p.score !== 'number')
        throw new MmesidError(`${file}: pieces[${i}] must be { id: ${i}, piece: string, score: number }`);
      pieces.push({ piece: p.piece, score: p.score });
    }
    return new Llama2cTokenizer(pieces);
  }

  /**
   * From llama2.c's binary tokenizer file: int32 max_token_length, then per id a float32 score, an int32
   * byte length and the bytes. The file does not store the vocabulary size; by default every entry up to
   * the end of the file is read.
   */
  static fromBin(bytes: Uint8Array, vocabSize?: number, file = 'tokenizer.bin'): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const dec = new TextDecoder('utf-8');
    const pieces: Llama2cPiece[] = [];
    let off = 4;
    while (off < bytes.byteLength && (vocabSize === undefined || pieces.length < vocabSize)) {
      if (off + 8 > bytes.byteLength) throw new MmesidError(`${file}: truncated at entry ${pieces.length}`);
      const score = view.getFloat32(off, true);
      const len = view.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > bytes.byteLength)
        throw new MmesidError(`${file}: entry ${pieces.length} has a bad length ${len}`);
      pieces.push({ piece: dec.decode(bytes.subarray(off, off + len)), score });
      off += len;
    }
    if (vocabSize !== undefined && pieces.length !== vocabSize)
      throw new MmesidError(`${file}: holds ${pieces.length} entries, expected ${vocabSize}`);
    return new Llama2cTokenizer(pieces);
  }

  /** Loads `*.json` (llama2c-tokenizer JSON) or a binary llama2.c tokenizer file. Node only. */
  static async load(path: string, vocabSize?: number): Promise<Llama2cTokenizer> {
    const { readFile } = await import('node:fs/promises');
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      throw new MmesidError(
        `${path}: cannot read the tokenizer (${(e as { code?: string }).code ?? (e as Error).message})`,
      );
    }
    if (path.endsWith('.json')) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes));
      } catch (e) {
        throw new MmesidError(`${path}: not valid JSON (${(e as Error).message.slice(0, 160)})`);
      }
      return Llama2cTokenizer.fromJson(json as Parameters<typeof Llama2cTokenizer.fromJson>[0], path);
    }
    return Llama2cTokenizer.fromBin(bytes, vocabSize, path);
  }

  /**
   * run.c's `encode(text, bos, eos)`; for a vocabulary without byte fallback, SentencePiece's (see the
   * class comment).
   */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (opts.bos) ids.push(this.bosId);
    if (!this.byteFallback) text = text.replace(/ {2,}/g, ' ').replace(/^ | $/g, '');
    const bytes = utf8.encode(text);
    if (bytes.length > 0) {
      const space = this.lookup.get(' ');
      if (space === undefined)
        throw new MmesidError('Llama2cTokenizer: the vocabulary has no " " piece for the dummy prefix');
      ids.push(space);
    }
    let inUnknown = false;
    for (let i = 0; i < bytes.length; ) {
      let j = i + 1;
      while (j < bytes.length && j - i < 4 && (bytes[j]! & 0xc0) === 0x80) j++;
      const id = this.lookup.get(binary(bytes.subarray(i, j)));
      if (id !== undefined) {
        ids.push(id);
        inUnknown = false;
      } else if (this.byteFallback) for (let k = i; k < j; k++) ids.push(bytes[k]! + 3);
      else if (!inUnknown) {
        ids.push(this.unkId);
        inUnknown = true;
      }
      i = j;
    }
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const id = this.lookup.get(this.bytesOf[ids[i]!]! + this.bytesOf[ids[i + 1]!]!);
        if (id !== undefined && this.scores[id]! > bestScore) {
          bestScore = this.scores[id]!;
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      ids.splice(bestIdx, 2, bestId);
    }
    if (opts.eos) ids.push(this.eosId);
    return ids;
  }

  /** The piece text of an id. */
  piece(id: number): string {
    const p = this.pieces[id];
    if (!p)
      throw new RangeError(`Llama2cTokenizer: id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    return p.piece;
  }

  /** The raw bytes of a token: byte tokens give their byte, BOS/EOS/unknown give nothing. */
  private tokenBytes(id: number): Uint8Array {
    if (id === this.unkId && !this.byteFallback) return utf8.encode(this.unkSurface);
    if (id < 3) return new Uint8Array(0);
    const m = BYTE_PIECE.exec(this.piece(id));
    if (m && id < 259) return Uint8Array.of(Number.parseInt(m[1]!, 16));
    return utf8.encode(this.piece(id));
  }

  /**
   * Byte-correct decoding: the tokens' bytes concatenated and read as UTF-8 (byte-fallback sequences
   * become their characters again); control tokens are skipped (`<unk>` is {@link unkSurface} in a
   * vocabulary without byte fallback); a leading space right after BOS or at
   * the start (the dummy prefix) is dropped.
   */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let prev = -1;
    for (const id of ids) {
      let b = this.tokenBytes(id);
      if ((prev === this.bosId || prev === -1) && b[0] === 0x20) b = b.subarray(1);
      parts.push(b);
      prev = id;
    }
    const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      total.set(p, off);
      off += p.length;
    }
    return new TextDecoder('utf-8').decode(total);
  }

  /** What run.c's `decode(prev, token)` + `safe_printf` print for one token, as bytes. */
  renderTokenBytes(prev: number, id: number): Uint8Array {
    let b = utf8.encode(this.piece(id));
    if (prev === this.bosId && b[0] === 0x20) b = b.subarray(1);
    const m = BYTE_PIECE.exec(binary(b));
    if (m) b = Uint8Array.of(Number.parseInt(m[1]!, 16));
    if (b.length === 0) return b;
    if (b.length === 1) {
      const c = b[0]!;
      const printable = c >= 0x20 && c <= 0x7e;
      const space = c === 0x20 || (c >= 0x09 && c <= 0x0d);
      if (!printable && !space) return new Uint8Array(0);
    }
    return b;
  }

  /**
   * Exactly what run.c prints for a token sequence (`all_ids`, starting with BOS): every token after the
   * first rendered against its predecessor, plus the final newline. Multi-byte characters that were
   * split into byte tokens vanish, as they do in run.c.
   */
  renderRunC(allIds: readonly number[]): string {
    const parts: number[] = [];
    for (let i = 1; i < allIds.length; i++) parts.push(...this.renderTokenBytes(allIds[i - 1]!, allIds[i]!));
    parts.push(0x0a);
    return new TextDecoder('utf-8').decode(Uint8Array.from(parts));
  }
}
