/**
 * Node's built-in modules, loaded on first use, so that the browser-safe parts of this package (the
 * models, preprocessing, TF-IDF) import in a bundle without pulling `node:fs` in.
 */
import type * as NodeFs from 'node:fs/promises';
import type * as NodePath from 'node:path';

/** The Node built-ins this package loads lazily. */
export interface NodeModules {
  readonly fs: typeof NodeFs;
  readonly path: typeof NodePath;
}

let cached: Promise<NodeModules> | undefined;

/** `node:fs/promises` and `node:path`; rejects with an actionable message outside Node. */
export function nodeModules(): Promise<NodeModules> {
  cached ??= (async () => {
    try {
      const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
      return { fs, path };
    } catch (cause) {
      cached = undefined;
      throw new Error(
        '@mmesid/llm2clip: reading and writing files needs Node.js; in a browser pass image bytes or URLs ' +
          'and keep embeddings in memory',
        { cause },
      );
    }
  })();
  return cached;
}
