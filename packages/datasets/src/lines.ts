import { nodeBuiltins } from '@mmesid/core';
import { DataFormatError } from './errors.js';

/** One line of a text file, without its line break, and its 1-based number. */
export interface TextLine {
  readonly text: string;
  readonly line: number;
}

/**
 * Reads a UTF-8 text file line by line, gunzipping it on the fly when it starts with the gzip
 * magic bytes (so `x.json.gz` and an already unpacked `x.json` both work). Lines end at LF; a CR
 * before the LF is dropped. A last line without LF is still returned; empty lines are returned as
 * they are (the caller decides whether they are an error). Invalid UTF-8 throws
 * {@link DataFormatError} naming the file and line.
 */
export async function* readTextLines(file: string): AsyncGenerator<TextLine> {
  const { fs, fsp, zlib } = await nodeBuiltins();
  const head = Buffer.alloc(2);
  const fh = await fsp.open(file, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const stream = gzipped ? raw.pipe(zlib.createGunzip()) : raw;
  raw.on('error', (err) => stream.destroy(err));
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let carry = '';
  let line = 0;
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch (cause) {
      throw new DataFormatError({ file, line: line + 1 }, 'the file is not valid UTF-8', { cause });
    }
  };
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      const text = carry + decode(chunk);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        line++;
        const end = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
        yield { text: text.slice(start, end), line };
        start = nl + 1;
      }
      carry = text.slice(start);
    }
  } catch (cause) {
    if (cause instanceof DataFormatError) throw cause;
    throw new DataFormatError(
      { file, line: line + 1 },
      `could not read the file${gzipped ? ' (gzip stream)' : ''}: ${(cause as Error).message}`,
      { cause },
    );
  }
  carry += decode();
  if (carry.length > 0) {
    line++;
    yield { text: carry.endsWith('\r') ? carry.slice(0, -1) : carry, line };
  }
}
