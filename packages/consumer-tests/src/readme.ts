/**
 * README examples that CI runs: a fenced block whose info string is `ts example` (GitHub still
 * highlights it as TypeScript). Other `ts` blocks are fragments and are not run.
 */

export interface ExampleBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** The `ts example` blocks of a Markdown file, in order; throws on an unclosed one. */
export function exampleBlocks(markdown: string, file = 'README.md'): ExampleBlock[] {
  const lines = markdown.split('\n');
  const out: ExampleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s+example\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: \`\`\`ts example block is never closed`);
    out.push({ line: start + 1, code: `${body.join('\n')}\n` });
  }
  return out;
}
