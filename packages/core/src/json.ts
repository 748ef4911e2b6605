import { MmesidError } from './errors.js';

/** Where a JSON text says one key twice in one object. */
export interface DuplicateKey {
  /** The repeated key. */
  key: string;
  /** The top-level key the object sits under ('' when the object is the top level). */
  path: string;
  /** The character offset of the second occurrence. */
  offset: number;
}

/**
 * The first key that appears twice in one object of a JSON text (which `JSON.parse` has already
 * accepted: it keeps the last of two equal keys, silently), or undefined when every object's keys
 * are distinct. A linear scan: strings are skipped with their escapes, and a stack of key sets
 * follows the nesting (arrays push a marker so that their strings are not taken as keys).
 */
export function firstDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: (Set<string> | null)[] = [];
  let top = '';
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = stack[stack.length - 1]!;
        if (keys.has(key)) return { key, path: stack.length > 1 ? top : '', offset: i };
        keys.add(key);
        if (stack.length === 1) top = key;
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return undefined;
}

/** `key "k" of "top" appears twice (at character n)`: the wording every loader uses. */
export function describeDuplicateKey(dup: DuplicateKey): string {
  return `key ${JSON.stringify(dup.key)}${dup.path ? ` of ${JSON.stringify(dup.path)}` : ''} appears twice (at character ${dup.offset})`;
}

/** The error class a JSON reader throws (`MmesidError` or a subclass such as `ConfigError`). */
export type JsonErrorClass = new (message: string, options?: { cause?: unknown }) => Error;

/**
 * Parses a JSON text that must say each key once (a config saying a thing twice is a mistake that
 * `JSON.parse` would hide by keeping the last).
 *
 * @param file names the source in messages
 * @throws {MmesidError} (or `errorClass`) naming `file`: not valid JSON (the parser's reason, at most
 *   160 characters), or a key said twice (the key, its top-level key and the character offset)
 */
export function parseJson(text: string, file: string, errorClass: JsonErrorClass = MmesidError): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new errorClass(`${file}: not valid JSON (${(cause as Error).message.slice(0, 160)})`, { cause });
  }
  const dup = firstDuplicateKey(text);
  if (dup) throw new errorClass(`${file}: ${describeDuplicateKey(dup)}`);
  return value;
}
