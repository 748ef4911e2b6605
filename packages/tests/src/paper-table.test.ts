import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The root README's "paper in the code" table: every row names a file and a symbol; the symbol
 * must be declared there (class, function, const, or a method) and its JSDoc must cite the row's
 * paper reference in an `@see`. A renamed symbol, a moved file or a changed citation fails here.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

interface Row {
  component: string;
  paper: string;
  file: string;
  symbol: string;
}

function tableRows(): Row[] {
  const start = readme.indexOf('## The paper in the code');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return section
    .split('\n')
    .filter((l) => /^\| .*`[^`]+` \| `[^`]+` \|$/.test(l))
    .map((l) => {
      const cells = l.split(' | ').map((c) => c.replace(/^\| |\|$/g, '').trim());
      return {
        component: cells[0]!,
        paper: cells[1]!,
        file: cells[2]!.replace(/`/g, ''),
        symbol: cells[3]!.replace(/`/g, ''),
      };
    });
}

/** The JSDoc block right above the declaration of `symbol` in `source`, or undefined. */
function jsdocOf(source: string, symbol: string): string | undefined {
  const decl = new RegExp(
    `^(?:export )?(?:declare )?(?:abstract )?(?:(?:async )?function\\*? |class |const |let |interface |type )${symbol}\\b|^\\s+(?:async )?${symbol}\\(`,
    'm',
  );
  const m = decl.exec(source);
  if (!m) return undefined;
  const before = source.slice(0, m.index).trimEnd();
  if (!before.endsWith('*/')) return '';
  return before.slice(before.lastIndexOf('/**'));
}

describe('README paper -> code table', () => {
  const rows = tableRows();

  it('has a row for each named component of the paper', () => {
    expect(rows.length).toBeGreaterThanOrEqual(12);
    const text = rows.map((r) => r.component.toLowerCase()).join('\n');
    for (const part of [
      'rq-vae',
      'mmd',
      'alignment',
      'item token',
      'codebooks',
      'fusion',
      'loss',
      'tau',
      'spectra',
    ])
      expect(text, part).toContain(part);
  });

  it.each(
    tableRows().map((r) => [`${r.file}:${r.symbol}`, r] as const),
  )('%s resolves and cites its row', (_, row) => {
    const path = join(root, row.file);
    expect(existsSync(path), `${row.file} does not exist`).toBe(true);
    const doc = jsdocOf(readFileSync(path, 'utf8'), row.symbol);
    expect(doc, `${row.file} declares no ${row.symbol}`).toBeDefined();
    const sees = (doc ?? '').split('\n').filter((l) => l.includes('@see'));
    expect(
      sees.some((l) => l.includes(row.paper)),
      `${row.file}:${row.symbol}'s JSDoc has no "@see ${row.paper}" (it has: ${sees.join(' / ') || 'none'})`,
    ).toBe(true);
  });
});
