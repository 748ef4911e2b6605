import { describe, expect, it } from 'vitest';
import { PythonLiteralError } from './errors.js';
import { parsePythonLiteral as py } from './python-literal.js';

describe('parsePythonLiteral', () => {
  it('reads the scalar literals', () => {
    expect(py('True')).toBe(true);
    expect(py('False')).toBe(false);
    expect(py('None')).toBeNull();
    expect(py('42')).toBe(42);
    expect(py('-7')).toBe(-7);
    expect(py('+ 3')).toBe(3);
    expect(py('0')).toBe(0);
    expect(py('1_000_000')).toBe(1_000_000);
    expect(py('0x1F')).toBe(31);
    expect(py('0o17')).toBe(15);
    expect(py('0b101')).toBe(5);
    expect(py('3.25')).toBe(3.25);
    expect(py('.5')).toBe(0.5);
    expect(py('5.')).toBe(5);
    expect(py('1e3')).toBe(1000);
    expect(py('-2.5E-2')).toBe(-0.025);
    expect(py('12345678901234567890')).toBe(12345678901234567890n);
    expect(py('-12345678901234567890')).toBe(-12345678901234567890n);
  });

  it('reads strings in both quotes with Python 3 escapes', () => {
    expect(py(`'it\\'s'`)).toBe("it's");
    expect(py(`"say \\"hi\\""`)).toBe('say "hi"');
    expect(py(`"it's"`)).toBe("it's");
    expect(py(`'a"b'`)).toBe('a"b');
    expect(py(String.raw`'\n\t\r\\\a\b\f\v\0'`)).toBe('\n\t\r\\\x07\b\f\v\0');
    expect(py(String.raw`'\x41\101\u00e9\U0001F600'`)).toBe('AAé😀');
    expect(py(String.raw`'\d\w'`)).toBe('\\d\\w'); // unknown escapes stay as written
    expect(py("'line\\\ncontinued'")).toBe('linecontinued');
    expect(py(`'Crème ★'`)).toBe('Crème ★');
    expect(py(`''`)).toBe('');
  });

  it('reads prefixes, triple quotes and adjacent strings', () => {
    expect(py(String.raw`u'caf\xe9'`)).toBe('café');
    expect(py(String.raw`r'a\nb\'c'`)).toBe(String.raw`a\nb\'c`);
    expect(py(String.raw`b'\xff\x00A'`)).toBe('\xff\x00A');
    expect(py(String.raw`br'\x'`)).toBe(String.raw`\x`);
    expect(py(`'''a 'quoted' and "double"\nline'''`)).toBe(`a 'quoted' and "double"\nline`);
    expect(py(`"""x"""`)).toBe('x');
    expect(py(`'a' "b" u'c'`)).toBe('abc');
  });

  it('reads unprefixed strings as Python 2 UTF-8 byte strings when asked', () => {
    const py2 = (text: string) => py(text, { strings: 'python2' });
    expect(py(String.raw`'Caf\xc3\xa9'`)).toBe('CafÃ©'); // Python 3 reading
    expect(py2(String.raw`'Caf\xc3\xa9 \342\204\242'`)).toBe('Café ™');
    expect(py2(`'Café ★'`)).toBe('Café ★');
    expect(py2(String.raw`u'Caf\xe9 \u2122'`)).toBe('Café ™');
    expect(py2(String.raw`'\u2122'`)).toBe(String.raw`\u2122`);
    expect(py2(String.raw`r'\xc3\xa9'`)).toBe(String.raw`\xc3\xa9`);
    expect(py2(String.raw`{'t': 'a\xc3' '\xa9b' u'!'}`)).toEqual({ t: 'aéb!' }); // joined, then decoded
    expect(() => py2(String.raw`'ok' '\xff'`)).toThrow(/not valid UTF-8/);
  });

  it('reads lists, tuples and dicts, nested', () => {
    expect(py('[1, [2, 3], []]')).toEqual([1, [2, 3], []]);
    expect(py('(1, 2)')).toEqual([1, 2]);
    expect(py('(1,)')).toEqual([1]);
    expect(py('()')).toEqual([]);
    expect(py('(1)')).toBe(1);
    expect(py('[1, 2,]')).toEqual([1, 2]);
    expect(py("{'a': {'b': [None, True]}, \"c\": (1.5,),}")).toEqual({ a: { b: [null, true] }, c: [1.5] });
    expect(py("{'k': 1, 'k': 2}")).toEqual({ k: 2 });
    expect(py('{ }')).toEqual({});
    expect(py("{'a': 1} # trailing comment")).toEqual({ a: 1 });
    expect(py('[\n  1,\n  2\n]\n')).toEqual([1, 2]);
  });

  it('keeps __proto__ an ordinary key', () => {
    const v = py("{'__proto__': {'polluted': True}}") as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  it('reads a real-looking Amazon 2014 metadata line', () => {
    const line =
      "{'asin': '0000031852', 'title': 'Girls Ballet Tutu Zebra Hot Pink', 'price': 3.17, " +
      "'imUrl': 'http://ecx.images-amazon.com/images/I/51fAmVkTbyL._SY300_.jpg', " +
      "'related': {'also_bought': ['B00JHONN1S', 'B002BZX8Z6'], 'bought_together': ['B002BZX8Z6']}, " +
      "'salesRank': {'Toys & Games': 211836}, 'categories': [['Sports & Outdoors', 'Other Sports', 'Dance']]}";
    expect(py(line)).toEqual({
      asin: '0000031852',
      title: 'Girls Ballet Tutu Zebra Hot Pink',
      price: 3.17,
      imUrl: 'http://ecx.images-amazon.com/images/I/51fAmVkTbyL._SY300_.jpg',
      related: { also_bought: ['B00JHONN1S', 'B002BZX8Z6'], bought_together: ['B002BZX8Z6'] },
      salesRank: { 'Toys & Games': 211836 },
      categories: [['Sports & Outdoors', 'Other Sports', 'Dance']],
    });
  });

  it.each([
    ["{'a': 1", 1, 1, /\} never comes/],
    ["'abc", 1, 1, /string is never closed/],
    ['(1, 2', 1, 1, /\) never comes/],
    ['[1 2]', 1, 4, /expected , or \]/],
    ['{1, 2}', 1, 1, /sets are not supported/],
    ['{1: 2}', 1, 2, /dict keys must be strings, got int/],
    ['1j', 1, 1, /complex numbers/],
    ["f'x'", 1, 1, /f-strings/],
    ['007', 1, 1, /malformed number/],
    ['1..2', 1, 1, /malformed number/],
    ["__import__('os').system('x')", 1, 1, /name "__import__" is not a literal/],
    ['nan', 1, 1, /is not a literal/],
    ["'a' 'b' x", 1, 9, /after the value/],
    [String.raw`'\x4'`, 1, 2, /truncated \\x escape/],
    [String.raw`'\N{DASH}'`, 1, 2, /named escapes/],
    ['[1,\n 2,\n ?]', 3, 2, /unexpected "\?"/],
    ["'a\nb'", 1, 1, /line break inside a single-quoted string/],
    ["b'é'", 1, 3, /bytes literals may only contain ASCII/],
    ['- x', 1, 1, /a sign must be followed by a number/],
    ['', 1, 1, /unexpected end of text/],
  ])('rejects %j at line %i column %i', (text, line, column, message) => {
    let err: unknown;
    try {
      py(text, { file: 'meta.json', line: 1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PythonLiteralError);
    expect(err).toMatchObject({ file: 'meta.json', line, column });
    expect((err as Error).message).toMatch(message);
  });

  it('offsets line numbers by the source line', () => {
    expect(() => py('[1,\n x]', { file: 'm', line: 10 })).toThrow(/^m:11:2: /);
  });
});
