import { describe, expect, it } from 'vitest';
import { exampleBlocks } from '../src/readme.js';

describe('exampleBlocks', () => {
  it('takes only ```ts example fences, with their opening line', () => {
    const md = [
      '# x',
      '```ts',
      'fragment();',
      '```',
      '',
      '```ts example',
      'a();',
      '',
      'b();',
      '```',
      '```sh',
      'ls',
      '```',
    ].join('\n');
    expect(exampleBlocks(md)).toEqual([{ line: 6, code: 'a();\n\nb();\n' }]);
  });

  it('rejects an unclosed block, naming the file and line', () => {
    expect(() => exampleBlocks('text\n```ts example\nx();\n', 'pkg/README.md')).toThrow(/pkg\/README.md:2/);
  });
});
