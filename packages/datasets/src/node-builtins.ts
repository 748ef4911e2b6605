/**
 * Node's built-in modules, loaded on first use. The pure parts of this package (parsers, splits,
 * batching, the synthetic generator) must import in a browser bundle too, so only the functions
 * that read files or the network reach for Node, and only when they are called.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import type * as NodeFsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import type * as NodeZlib from 'node:zlib';

export interface NodeBuiltins {
  readonly fs: typeof NodeFs;
  readonly fsp: typeof NodeFsPromises;
  readonly path: typeof NodePath;
  readonly zlib: typeof NodeZlib;
  readonly crypto: typeof NodeCrypto;
}

let cached: Promise<NodeBuiltins> | undefined;

/** The Node built-ins this package uses; rejects with a clear message outside Node. */
export function nodeBuiltins(): Promise<NodeBuiltins> {
  cached ??= (async () => {
    try {
      const [fs, fsp, path, zlib, crypto] = await Promise.all([
        import('node:fs'),
        import('node:fs/promises'),
        import('node:path'),
        import('node:zlib'),
        import('node:crypto'),
      ]);
      return { fs, fsp, path, zlib, crypto };
    } catch (cause) {
      cached = undefined;
      throw new Error(
        '@mmesid/datasets: reading files and downloading need Node.js (node:fs, node:zlib); ' +
          'in a browser, fetch the text yourself and use the parse* functions',
        { cause },
      );
    }
  })();
  return cached;
}
