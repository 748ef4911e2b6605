import { PythonLiteralError } from './errors.js';

/**
 * A value read from a Python literal. Python lists and tuples both become arrays; dicts become
 * plain objects (string keys only); `None` is `null`; an int that does not fit a double exactly
 * is a `bigint`, so no digit is lost.
 */
export type PyValue = string | number | bigint | boolean | null | PyValue[] | PyDict;

/** A Python dict with string keys, as a plain object. */
export interface PyDict {
  [key: string]: PyValue;
}

/** Where the literal came from, for error messages. */
export interface PythonLiteralSource {
  /** File name shown in errors. */
  readonly file?: string;
  /** 1-based line of the file on which the text starts. */
  readonly line?: number;
  /**
   * How to read strings without a `u` prefix. `python3` (default): as Python 3 does, `\\xe9` is
   * the code point U+00E9. `python2`: as Python 2 byte strings holding UTF-8, which is what
   * Python 2's `repr` of an encoded string looks like: the text's characters and every `\\xNN` /
   * octal escape are bytes, decoded as UTF-8 at the end (`'Caf\\xc3\\xa9'` is `Café`), and `\\u`
   * is not an escape. `u'...'` strings read the same in both modes.
   */
  readonly strings?: 'python3' | 'python2';
}

/**
 * Parses one Python literal the way Python 3's `ast.literal_eval` reads it, without evaluating
 * anything. This is the format of the Amazon 2014 metadata files (`meta_<Category>.json.gz`),
 * whose lines are Python `repr` output, not JSON.
 *
 * Supported: strings in `'` or `"` (also triple-quoted, with `u`, `r`, `b` and `rb`/`br` prefixes)
 * with Python 3 escapes (`\\n`, `\\t`, `\\xhh`, `\\ooo`, `\\uXXXX`, `\\UXXXXXXXX`, line continuation,
 * unknown escapes kept verbatim), adjacent strings joined, ints (decimal, `0x`, `0o`, `0b`, `_`
 * separators), floats, a leading `+`/`-`, `True`, `False`, `None`, lists, tuples, dicts and `#`
 * comments. Bytes literals become strings of code points 0-255. Not supported, with an error
 * naming the position: sets, complex numbers, f-strings, `\\N{...}` escapes and non-string dict keys.
 *
 * @throws {PythonLiteralError} with file, line and column of the first character that does not fit.
 * @example
 * parsePythonLiteral("{'asin': 'B0001', 'price': 3.5, 'tags': ('a', None), 'ok': True}");
 * // { asin: 'B0001', price: 3.5, tags: ['a', null], ok: true }
 */
export function parsePythonLiteral(text: string, source: PythonLiteralSource = {}): PyValue {
  const p = new Parser(text, source);
  p.skipSpace();
  const value = p.parseValue();
  p.skipSpace();
  if (p.pos < text.length) p.fail(`unexpected ${describe(text, p.pos)} after the value`);
  return value;
}

const CH_QUOTE1 = 0x27; // '
const CH_QUOTE2 = 0x22; // "
const CH_BACKSLASH = 0x5c;

/** The deepest nesting of lists, tuples and dicts {@link parsePythonLiteral} accepts. */
export const MAX_PYTHON_LITERAL_DEPTH = 200;

class Parser {
  pos = 0;
  depth = 0;
  constructor(
    readonly text: string,
    readonly source: PythonLiteralSource,
  ) {}

  fail(detail: string, at = this.pos): never {
    let line = this.source.line ?? 1;
    let lineStart = 0;
    for (let k = 0; k < at && k < this.text.length; k++) {
      if (this.text.charCodeAt(k) === 0x0a) {
        line++;
        lineStart = k + 1;
      }
    }
    throw new PythonLiteralError(
      { file: this.source.file ?? '<python literal>', line, column: at - lineStart + 1 },
      detail,
    );
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) this.pos++;
      else if (c === 0x23 /* # */) {
        while (this.pos < t.length && t.charCodeAt(this.pos) !== 0x0a) this.pos++;
      } else if (c === CH_BACKSLASH && t.charCodeAt(this.pos + 1) === 0x0a) this.pos += 2;
      else break;
    }
  }

  parseValue(): PyValue {
    const t = this.text;
    if (this.pos >= t.length) this.fail('unexpected end of text; expected a value');
    const c = t.charCodeAt(this.pos);
    if (c === 0x5b /* [ */ || c === 0x28 /* ( */ || c === 0x7b /* { */) {
      // Recursion per level: without a bound, a line nested thousands deep overflows the stack.
      if (this.depth >= MAX_PYTHON_LITERAL_DEPTH)
        this.fail(
          `nested deeper than ${MAX_PYTHON_LITERAL_DEPTH} levels (CPython's parser stops at 200 too)`,
        );
      this.depth++;
      try {
        if (c === 0x5b) return this.parseSequence(0x5d, false);
        if (c === 0x28) return this.parseParen();
        return this.parseDict();
      } finally {
        this.depth--;
      }
    }
    if (c === CH_QUOTE1 || c === CH_QUOTE2) return this.parseStrings();
    if (c === 0x2d /* - */ || c === 0x2b /* + */) {
      const signAt = this.pos;
      this.pos++;
      this.skipSpace();
      const d = t.charCodeAt(this.pos);
      if (!isDigit(d) && d !== 0x2e) this.fail('a sign must be followed by a number', signAt);
      const v = this.parseNumber();
      if (c === 0x2b) return v;
      return typeof v === 'bigint' ? -v : -v;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(t.charCodeAt(this.pos + 1)))) return this.parseNumber();
    if (isIdentStart(c)) {
      const start = this.pos;
      let end = start;
      while (end < t.length && isIdentPart(t.charCodeAt(end))) end++;
      const word = t.slice(start, end);
      const q = t.charCodeAt(end);
      if ((q === CH_QUOTE1 || q === CH_QUOTE2) && /^[rRuUbBfF]{1,2}$/.test(word)) return this.parseStrings();
      this.pos = end;
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      this.fail(`name ${JSON.stringify(word)} is not a literal (only True, False and None are)`, start);
    }
    this.fail(`unexpected ${describe(t, this.pos)}; expected a value`);
  }

  /** `[` or `(` already seen at pos; reads items up to `close`. */
  parseSequence(close: number, tupleStarted: boolean, open = this.pos): PyValue[] {
    if (!tupleStarted) this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) this.fail(`${String.fromCharCode(close)} never comes`, open);
      if (this.text.charCodeAt(this.pos) === close) {
        this.pos++;
        return items;
      }
      items.push(this.parseValue());
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) this.pos++;
      else if (this.pos >= this.text.length) this.fail(`${String.fromCharCode(close)} never comes`, open);
      else if (c !== close) this.fail(`expected , or ${String.fromCharCode(close)}`);
    }
  }

  parseParen(): PyValue {
    const open = this.pos;
    this.pos++;
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) === 0x29) {
      this.pos++;
      return [];
    }
    const first = this.parseValue();
    this.skipSpace();
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x29) {
      this.pos++;
      return first; // (x) is just x
    }
    if (c !== 0x2c) {
      if (this.pos >= this.text.length) this.fail(') never comes', open);
      this.fail('expected , or )');
    }
    this.pos++;
    return [first, ...this.parseSequence(0x29, true, open)];
  }

  parseDict(): PyDict {
    const open = this.pos;
    this.pos++;
    const out: PyDict = {};
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length) this.fail('} never comes', open);
      if (this.text.charCodeAt(this.pos) === 0x7d) {
        this.pos++;
        return out;
      }
      const keyAt = this.pos;
      const key = this.parseValue();
      this.skipSpace();
      const colon = this.text.charCodeAt(this.pos);
      if (colon !== 0x3a) {
        if (colon === 0x2c || colon === 0x7d) this.fail('sets are not supported; expected a dict', open);
        this.fail('expected : after a dict key');
      }
      if (typeof key !== 'string') this.fail(`dict keys must be strings, got ${pyTypeName(key)}`, keyAt);
      this.pos++;
      this.skipSpace();
      const value = this.parseValue();
      // Python keeps the last value of a repeated key; so do we. `__proto__` must stay a plain key.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else out[key] = value;
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) this.pos++;
      else if (this.pos >= this.text.length) this.fail('} never comes', open);
      else if (c !== 0x7d) this.fail('expected , or }');
    }
  }

  parseNumber(): number | bigint {
    const t = this.text;
    const start = this.pos;
    let end = start;
    if (t.charCodeAt(start) === 0x30 && /[xXoObB]/.test(t[start + 1] ?? '')) {
      const kind = t[start + 1]!.toLowerCase();
      end = start + 2;
      while (end < t.length && /[0-9a-zA-Z_]/.test(t[end]!)) end++;
      const digits = t.slice(start + 2, end);
      const ok = {
        x: /^_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/,
        o: /^_?[0-7]+(_[0-7]+)*$/,
        b: /^_?[01]+(_[01]+)*$/,
      }[kind as 'x' | 'o' | 'b'];
      if (!ok.test(digits)) this.fail(`malformed number ${JSON.stringify(t.slice(start, end))}`, start);
      this.pos = end;
      return intValue(BigInt(`0${kind}${digits.replaceAll('_', '')}`));
    }
    while (end < t.length && isNumberChar(t.charCodeAt(end))) {
      const ch = t.charCodeAt(end);
      end++;
      if ((ch === 0x65 || ch === 0x45) && (t[end] === '+' || t[end] === '-')) end++;
    }
    const raw = t.slice(start, end);
    if (end < t.length && /[a-zA-Z]/.test(t[end]!)) {
      if (t[end] === 'j' || t[end] === 'J') this.fail('complex numbers are not supported', start);
      this.fail(`malformed number ${JSON.stringify(raw + t[end])}`, start);
    }
    this.pos = end;
    if (INT_LITERAL.test(raw)) return intValue(BigInt(raw.replaceAll('_', '')));
    if (FLOAT_LITERAL.test(raw) && /[.eE]/.test(raw)) return Number(raw.replaceAll('_', ''));
    this.fail(`malformed number ${JSON.stringify(raw)}`, start);
  }

  /** One or more adjacent string literals (Python joins them). */
  parseStrings(): string {
    // Python 2 joins adjacent byte strings before anything decodes them, so bytes wait in `pending`.
    let out = '';
    let pending = '';
    let pendingAt = this.pos;
    for (;;) {
      const at = this.pos;
      const piece = this.parseString();
      if (piece.binary) {
        if (pending === '') pendingAt = at;
        pending += piece.value;
      } else {
        if (pending !== '') out += this.decodeUtf8(pending, pendingAt);
        pending = '';
        out += piece.value;
      }
      const save = this.pos;
      this.skipSpace();
      const c = this.text.charCodeAt(this.pos);
      const startsString =
        c === CH_QUOTE1 ||
        c === CH_QUOTE2 ||
        (isIdentStart(c) && /^[rRuUbB]{1,2}['"]/.test(this.text.slice(this.pos, this.pos + 3)));
      if (!startsString) {
        this.pos = save;
        return pending === '' ? out : out + this.decodeUtf8(pending, pendingAt);
      }
    }
  }

  /** One string literal; `binary` when it is an undecoded Python 2 byte string. */
  parseString(): { value: string; binary: boolean } {
    const t = this.text;
    const start = this.pos;
    let prefix = '';
    while (this.pos < t.length && isIdentStart(t.charCodeAt(this.pos)))
      prefix += t[this.pos++]!.toLowerCase();
    if (prefix !== '' && !STRING_PREFIXES.has(prefix)) {
      if (prefix.includes('f')) this.fail('f-strings are not literals', start);
      this.fail(`unknown string prefix ${JSON.stringify(prefix)}`, start);
    }
    const raw = prefix.includes('r');
    // Python 2 byte strings are collected as a binary string (one char per byte) and decoded at the end.
    const py2Bytes = this.source.strings === 'python2' && !prefix.includes('u');
    const bytes = prefix.includes('b') || py2Bytes;
    const asciiOnly = prefix.includes('b') && !py2Bytes;
    const q = t[this.pos]!;
    const triple = t.startsWith(q.repeat(3), this.pos);
    const openAt = this.pos;
    this.pos += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (this.pos >= t.length) this.fail('string is never closed', openAt);
      const c = t.charCodeAt(this.pos);
      if (t[this.pos] === q && (!triple || t.startsWith(q.repeat(3), this.pos))) {
        this.pos += triple ? 3 : 1;
        return { value: out, binary: py2Bytes };
      }
      if (!triple && (c === 0x0a || c === 0x0d))
        this.fail('line break inside a single-quoted string', openAt);
      if (asciiOnly && c > 0x7f) this.fail('bytes literals may only contain ASCII characters');
      if (c !== CH_BACKSLASH) {
        // Copy the run of ordinary characters up to the next quote, backslash or line break at once.
        let end = this.pos + 1;
        while (end < t.length) {
          const d = t.charCodeAt(end);
          if (d === CH_QUOTE1 || d === CH_QUOTE2 || d === CH_BACKSLASH || d === 0x0a || d === 0x0d) break;
          if (asciiOnly && d > 0x7f) break;
          end++;
        }
        out += py2Bytes ? binaryUtf8(t.slice(this.pos, end)) : t.slice(this.pos, end);
        this.pos = end;
        continue;
      }
      if (raw) {
        // In a raw string a backslash stays, and it keeps the next character from ending the string.
        const pair = t.slice(this.pos, this.pos + 2);
        out += py2Bytes ? binaryUtf8(pair) : pair;
        this.pos += 2;
        continue;
      }
      out += this.parseEscape(bytes);
    }
  }

  decodeUtf8(binary: string, openAt: number): string {
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    try {
      return UTF8.decode(bytes);
    } catch {
      this.fail('a Python 2 byte string that is not valid UTF-8', openAt);
    }
  }

  parseEscape(bytes: boolean): string {
    const t = this.text;
    const at = this.pos;
    const e = t[at + 1];
    if (e === undefined) this.fail('string ends in a lone backslash', at);
    this.pos = at + 2;
    switch (e) {
      case '\n':
        return '';
      case '\r':
        if (t[this.pos] === '\n') this.pos++;
        return '';
      case '\\':
      case "'":
      case '"':
        return e;
      case 'a':
        return '\x07';
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      case 'x':
        return String.fromCharCode(this.hexDigits(2, at));
      case 'u':
      case 'U':
        if (bytes) return `\\${e}`;
        return String.fromCodePoint(this.hexDigits(e === 'u' ? 4 : 8, at));
      case 'N':
        if (bytes) return '\\N';
        this.fail('\\N{...} named escapes are not supported', at);
    }
    if (e >= '0' && e <= '7') {
      let end = at + 2;
      while (end < at + 4 && t[end]! >= '0' && t[end]! <= '7') end++;
      const code = Number.parseInt(t.slice(at + 1, end), 8);
      if (bytes && code > 0xff) this.fail('octal escape out of range for bytes', at);
      this.pos = end;
      return String.fromCharCode(code);
    }
    // Python keeps an unknown escape as written (backslash included).
    return `\\${e}`;
  }

  hexDigits(count: number, escapeAt: number): number {
    const digits = this.text.slice(this.pos, this.pos + count);
    if (digits.length !== count || !/^[0-9a-fA-F]+$/.test(digits)) {
      this.fail(`truncated \\${this.text[escapeAt + 1]} escape: expected ${count} hex digits`, escapeAt);
    }
    const v = Number.parseInt(digits, 16);
    if (v > 0x10ffff) this.fail('escape beyond the last Unicode code point', escapeAt);
    this.pos += count;
    return v;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF8_ENCODER = new TextEncoder();

/** The UTF-8 bytes of `text` as a string of chars 0-255. */
function binaryUtf8(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  if (ascii) return text;
  let out = '';
  for (const b of UTF8_ENCODER.encode(text)) out += String.fromCharCode(b);
  return out;
}

const STRING_PREFIXES = new Set(['u', 'r', 'b', 'br', 'rb']);
const DIGITS = '[0-9](?:_?[0-9])*';
const INT_LITERAL = /^(?:0(?:_?0)*|[1-9](?:_?[0-9])*)$/;
const FLOAT_LITERAL = new RegExp(`^(?:(?:${DIGITS})?\\.${DIGITS}|${DIGITS}\\.?)(?:[eE][+-]?${DIGITS})?$`);

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x65 || c === 0x45;
}

function intValue(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function describe(text: string, pos: number): string {
  return pos >= text.length ? 'end of text' : JSON.stringify(text[pos]);
}

function pyTypeName(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (Array.isArray(v)) return 'list or tuple';
  return 'dict';
}
