import { describe, expect, it } from 'vitest';
import { ConfigError, MmesidError } from './errors.js';
import { describeDuplicateKey, firstDuplicateKey, parseJson } from './json.js';

describe('firstDuplicateKey', () => {
  it('ignores equal strings in values and arrays, and escaped quotes', () => {
    expect(firstDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":1},"d\\"":{"x":"}"}}')).toBeUndefined();
    expect(firstDuplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
  });

  it('finds a repeated key at the top level and inside nested objects, with its offset', () => {
    const top = '{"a":1,"b":{"x":1,"y":[{"x":1},{"x":2}]},"a":2}';
    expect(firstDuplicateKey(top)).toEqual({ key: 'a', path: '', offset: top.lastIndexOf('"a"') });
    const nested = '{"model":{"type":"BPE","vocab":{},"type":"WordPiece"}}';
    expect(firstDuplicateKey(nested)).toEqual({
      key: 'type',
      path: 'model',
      offset: nested.lastIndexOf('"type"'),
    });
    expect(describeDuplicateKey(firstDuplicateKey(nested)!)).toBe(
      `key "type" of "model" appears twice (at character ${nested.lastIndexOf('"type"')})`,
    );
    // Keys equal after unescaping are the same key.
    expect(firstDuplicateKey('{"\\u0061":1,"a":2}')?.key).toBe('a');
  });
});

describe('parseJson', () => {
  it('returns what JSON.parse returns when each key is said once', () => {
    expect(parseJson('{"a":[1,{"b":null}]}', 'f.json')).toEqual({ a: [1, { b: null }] });
  });

  it('names the file for bad JSON and for a key said twice, in the class asked for', () => {
    expect(() => parseJson('{"a":', 'f.json')).toThrow(/^f\.json: not valid JSON \(/);
    expect(() => parseJson('{"a":1,"a":2}', 'f.json')).toThrow(
      'f.json: key "a" appears twice (at character 7)',
    );
    expect(() => parseJson('{"a":1,"a":2}', 'f.json', ConfigError)).toThrow(ConfigError);
    expect(() => parseJson('nope', 'f.json')).toThrow(MmesidError);
  });
});
