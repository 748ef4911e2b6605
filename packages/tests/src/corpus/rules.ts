/**
 * Rules that turn one valid file into malformed ones. A format lists its valid files and which
 * rules apply to each; every rule yields named mutations, so a new format gets coverage by naming
 * its files and rules, and a new rule covers every format it applies to.
 */

/** One malformed variant of a file: its new bytes (or `null`: delete the file, `'dir'`: a directory). */
export interface Mutation {
  name: string;
  bytes: Uint8Array | null | 'dir';
}

export type Rule = (bytes: Uint8Array) => Mutation[];

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (s: string) => enc.encode(s);

/** Cut the file at each structural boundary: empty, inside the first 8 bytes, at each line end, mid-way, one byte short. */
export const truncate: Rule = (b) => {
  // Trailing whitespace is not content: the last cut removes the last byte that is not.
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x20 || b[end - 1] === 0x0d)) end--;
  const cuts = new Set<number>([0, 1, 4, Math.floor(end / 2), end - 1]);
  // Line boundaries (text files) other than the last: each one leaves whole lines only.
  let lines = 0;
  for (let i = 0; i < end - 1 && lines < 3; i++)
    if (b[i] === 0x0a) {
      cuts.add(i + 1);
      lines++;
    }
  return [...cuts]
    .filter((c) => c >= 0 && c < b.length)
    .sort((x, y) => x - y)
    .map((c) => ({ name: `truncated at byte ${c} of ${b.length}`, bytes: b.slice(0, c) }));
};

/** Cut a safetensors file at its own boundaries: the length field, the header, the data. */
export const truncateSafetensors: Rule = (b) => {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  const cuts = [0, 7, 8, 8 + Math.floor(n / 2), 8 + n - 1, 8 + n, 8 + n + 1, b.length - 1];
  return [...new Set(cuts)]
    .filter((c) => c < b.length)
    .map((c) => ({ name: `truncated at byte ${c} (header ends at ${8 + n})`, bytes: b.slice(0, c) }));
};

/** Flip bytes at the places a reader must check: the length field and the header's structure. */
export const flipSafetensorsHeader: Rule = (b) => {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  const header = dec.decode(b.subarray(8, 8 + n));
  const out: Mutation[] = [];
  const at = (name: string, pos: number, value: number) => {
    const c = b.slice();
    c[pos] = value;
    out.push({ name, bytes: c });
  };
  at('length field: high byte set (huge header length)', 7, 0x7f);
  at('length field: low byte + 1', 0, (b[0]! + 1) & 0xff);
  at("header's first byte is not '{'", 8, 0x5b);
  at('header byte is invalid UTF-8', 8 + header.indexOf('"') + 1, 0xff);
  for (const [needle, label] of [
    ['"F32"', 'dtype renamed'],
    ['data_offsets', 'data_offsets key renamed'],
    ['shape', 'shape key renamed'],
  ] as const) {
    const i = header.indexOf(needle);
    if (i >= 0) at(label, 8 + i + 2, 0x58 /* X */);
  }
  // A digit of the first offsets / shape changed: the tiling or the byte count breaks.
  const off = /"data_offsets":\[(\d+),(\d+)\]/.exec(header);
  if (off)
    at(
      'an end offset digit changed',
      8 + off.index + off[0].length - 2,
      off[2]!.endsWith('9') ? 0x30 : off[2]!.charCodeAt(off[2]!.length - 1) + 1,
    );
  const shape = /"shape":\[(\d+)/.exec(header);
  if (shape)
    at(
      'a shape digit changed',
      8 + shape.index + 9,
      shape[1]!.startsWith('9') ? 0x31 : shape[1]!.charCodeAt(0) + 1,
    );
  return out;
};

/** Rewrite the header JSON of a safetensors file (padding kept so the data stays aligned). */
function withHeader(b: Uint8Array, edit: (h: Record<string, unknown>) => string): Uint8Array {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  const json = JSON.parse(dec.decode(b.subarray(8, 8 + n))) as Record<string, unknown>;
  const h = text(edit(json));
  const out = new Uint8Array(8 + h.length + (b.length - 8 - n));
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(b.subarray(8 + n), 8 + h.length);
  return out;
}

/** Semantic edits of the header: duplicates, reorders, out-of-range numbers, wrong types, huge sizes. */
export const editSafetensorsHeader: Rule = (b) => {
  const edits: [string, (h: Record<string, unknown>) => string][] = [];
  const names = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== '__metadata__');
  const entry = (h: Record<string, unknown>, k: string) =>
    h[k] as { dtype: string; shape: number[]; data_offsets: number[] };
  edits.push([
    'duplicate key: the first tensor listed again as I32',
    (h) => {
      const k = names(h)[0]!;
      const e = entry(h, k);
      const dup = JSON.stringify({ ...e, dtype: e.dtype === 'F32' ? 'I32' : 'F32' });
      return `${JSON.stringify(h).slice(0, -1)},${JSON.stringify(k)}:${dup}}`;
    },
  ]);
  edits.push([
    'duplicate __metadata__',
    (h) => `${JSON.stringify(h).slice(0, -1)},"__metadata__":{"format":"np"}}`,
  ]);
  edits.push([
    'reordered: two tensors swap data_offsets',
    (h) => {
      // Two tensors of different byte lengths (a swap of equal-sized ones is a valid file whose
      // data merely moved); with none, the first tensor gets an empty range instead.
      const ns = names(h);
      const len = (k: string) => entry(h, k).data_offsets[1]! - entry(h, k).data_offsets[0]!;
      const a = ns[0];
      const c = ns.find((k) => len(k) !== len(a!));
      if (c === undefined) return JSON.stringify({ ...h, [a!]: { ...entry(h, a!), data_offsets: [0, 0] } });
      const ea = entry(h, a!);
      const ec = entry(h, c!);
      [ea.data_offsets, ec.data_offsets] = [ec.data_offsets, ea.data_offsets];
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'out of range: negative shape',
    (h) => {
      entry(h, names(h)[0]!).shape[0] = -1;
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'out of range: offsets past the end',
    (h) => {
      entry(h, names(h)[0]!).data_offsets[1]! += 1 << 20;
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'huge size: shape 2^40 x 2^20',
    (h) => {
      entry(h, names(h)[0]!).shape = [2 ** 40, 2 ** 20];
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'wrong type: shape is a string',
    (h) => {
      (entry(h, names(h)[0]!) as unknown as { shape: string }).shape = '[2,3]';
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'wrong type: dtype is a number',
    (h) => {
      (entry(h, names(h)[0]!) as unknown as { dtype: number }).dtype = 0;
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'wrong type: metadata value is a number',
    (h) => {
      h.__metadata__ = { format: 1 };
      return JSON.stringify(h);
    },
  ]);
  edits.push(['wrong type: header is an array', () => '[]']);
  edits.push([
    'missing tensor: one entry removed',
    (h) => {
      delete h[names(h)[0]!];
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'unknown dtype F8_E9M9',
    (h) => {
      entry(h, names(h)[0]!).dtype = 'F8_E9M9';
      return JSON.stringify(h);
    },
  ]);
  edits.push([
    'deep nesting in __metadata__',
    (h) => JSON.stringify(h).replace(/^\{/, `{"__metadata__":${'['.repeat(3000)}${']'.repeat(3000)},`),
  ]);
  return edits.map(([name, edit]) => ({ name, bytes: withHeader(b, edit) }));
};

/** Edits of a JSON document by path: wrong types, out-of-range numbers, missing keys, duplicates, deep nesting. */
export function jsonEdits(
  edits: readonly (readonly [string, (o: Record<string, unknown>) => unknown])[],
  opts: {
    /** Leave out the deep-nesting case: for a format whose unknown keys are allowed, `{"x": [[...]]}` is valid. */
    openKeys?: boolean;
  } = {},
): Rule {
  return (b) => {
    const out: Mutation[] = edits.map(([name, edit]) => {
      const o = JSON.parse(dec.decode(b)) as Record<string, unknown>;
      const r = edit(o);
      return { name, bytes: text(typeof r === 'string' ? r : JSON.stringify(o)) };
    });
    const o = JSON.parse(dec.decode(b)) as Record<string, unknown>;
    // A key with a scalar value, repeated with an array: the loader must not keep either silently.
    const first = Object.keys(o).find((k) => o[k] === null || typeof o[k] !== 'object') ?? Object.keys(o)[0]!;
    out.push({ name: 'not JSON: a brace missing', bytes: text(JSON.stringify(o).slice(1)) });
    out.push({ name: 'wrong type: an array instead of an object', bytes: text('[]') });
    out.push({ name: 'wrong type: null', bytes: text('null') });
    out.push({
      name: `duplicate key ${first} with another type`,
      bytes: text(`${JSON.stringify(o).slice(0, -1)},${JSON.stringify(first)}:[]}`),
    });
    if (!opts.openKeys)
      out.push({
        name: 'deep nesting (5000 levels)',
        bytes: text(`{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`),
      });
    return out;
  };
}

/** Line edits of a text file: duplicate, drop, swap fields, inject bad tokens and huge ones. */
export function lineEdits(
  edits: readonly (readonly [string, (lines: string[]) => string[] | string])[],
): Rule {
  return (b) =>
    edits.map(([name, edit]) => {
      const lines = dec.decode(b).split('\n');
      const r = edit(lines);
      return { name, bytes: text(typeof r === 'string' ? r : r.join('\n')) };
    });
}

/** Replace the file: delete it, make it a directory, make it empty. */
export const replaceFile: Rule = () => [
  { name: 'file missing', bytes: null },
  { name: 'a directory where the file should be', bytes: 'dir' },
];

/** A directory where an optional file should be (its absence is allowed, a directory is not). */
export const directoryInstead: Rule = () => [{ name: 'a directory where the file should be', bytes: 'dir' }];

/** Flip one byte at a few offsets of a text file to a byte that breaks its syntax. */
export function flipText(chars: string): Rule {
  return (b) => {
    const s = dec.decode(b);
    const out: Mutation[] = [];
    for (const ch of chars) {
      const i = s.indexOf(ch);
      if (i < 0) continue;
      const c = b.slice();
      c[enc.encode(s.slice(0, i)).length] = 0x01;
      out.push({ name: `byte flipped: ${JSON.stringify(ch)} -> \\x01`, bytes: c });
    }
    return out;
  };
}
