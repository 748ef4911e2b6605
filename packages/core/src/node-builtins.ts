/**
 * Node's built-in modules, loaded on first use. The pure parts of every package (parsers, models,
 * the RNG) must import in a browser bundle too, so only the functions that touch files or hashes
 * reach for Node, and only when they are called.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import type * as NodeFsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import type * as NodeZlib from 'node:zlib';
import { MmesidError } from './errors.js';

/** The Node built-ins the project uses. */
export interface NodeBuiltins {
  readonly fs: typeof NodeFs;
  readonly fsp: typeof NodeFsPromises;
  readonly path: typeof NodePath;
  readonly zlib: typeof NodeZlib;
  readonly crypto: typeof NodeCrypto;
}

let cached: Promise<NodeBuiltins> | undefined;

/**
 * `node:fs`, `node:fs/promises`, `node:path`, `node:zlib` and `node:crypto`, imported once.
 *
 * @param purpose what needed them, for the message outside Node (`'@mmesid/sasrec: checkpoints'`;
 *   default `'reading and writing files'`)
 * @param hint what to do instead in a browser
 * @throws {MmesidError} `"<purpose> needs Node.js (node:fs); <hint>"` where they cannot be imported
 * @example
 * const { fsp, path } = await nodeBuiltins('@mmesid/llm2clip: the embedding cache');
 */
export async function nodeBuiltins(
  purpose = 'reading and writing files',
  hint?: string,
): Promise<NodeBuiltins> {
  cached ??= Promise.all([
    import('node:fs'),
    import('node:fs/promises'),
    import('node:path'),
    import('node:zlib'),
    import('node:crypto'),
  ]).then(([fs, fsp, path, zlib, crypto]) => ({ fs, fsp, path, zlib, crypto }));
  try {
    return await cached;
  } catch (cause) {
    cached = undefined;
    throw new MmesidError(`${purpose} needs Node.js (node:fs, node:path)${hint ? `; ${hint}` : ''}`, {
      cause,
    });
  }
}
