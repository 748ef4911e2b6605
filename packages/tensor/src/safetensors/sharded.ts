/**
 * Hugging Face checkpoints on disk (Node only): either one `model.safetensors` or shards listed in
 * `model.safetensors.index.json`, behind one per-tensor API; and the sharded writer.
 */

import { firstDuplicateKey, type PendingFile, writeTemp } from '@mmesid/core';
import { SafetensorsError } from '../errors.js';
import type { tf } from '../tf.js';
import type { SafetensorsRawTensor } from './decode.js';
import { openSafetensors, type SafetensorsFile, type SafetensorsReadOptions, writePlan } from './file.js';
import type { SafetensorsTensorInfo } from './header.js';
import {
  compareCodePoints,
  entriesOf,
  planSafetensors,
  type SafetensorsInputs,
  type SafetensorsSerializeOptions,
} from './write.js';
import { writeAll } from './write-all.js';

/** The single-file checkpoint name Hugging Face uses. */
export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';
/** The shard index name Hugging Face uses. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Where a checkpoint tensor lives: its header entry plus the file (shard) holding it. */
export interface SafetensorsCheckpointTensorInfo extends SafetensorsTensorInfo {
  /** Absolute path of the file holding the tensor. */
  file: string;
}

/**
 * A checkpoint directory opened for per-tensor reading, whether it is one file or sharded. All headers
 * are validated on open; tensors are read on demand from their own byte ranges.
 */
export interface SafetensorsCheckpoint {
  /** Absolute path of the checkpoint directory. */
  readonly dir: string;
  /** Whether it was opened through `model.safetensors.index.json`. */
  readonly sharded: boolean;
  /** Absolute paths of the safetensors files, in shard order. */
  readonly files: string[];
  /**
   * The index's `metadata` object (e.g. `{ total_size: 123 }`) for a sharded checkpoint, else the
   * single file's `__metadata__`.
   */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Tensor names: index order for a sharded checkpoint, file order otherwise. */
  keys(): string[];
  has(name: string): boolean;
  /** Throws `SafetensorsError` if there is no such tensor. */
  info(name: string): SafetensorsCheckpointTensorInfo;
  /** Reads a tensor's raw little-endian bytes (a fresh buffer you own). */
  readTensorBytes(name: string): Promise<SafetensorsRawTensor>;
  /** Reads a tensor into a new tfjs tensor; the caller disposes it. */
  readTensor(name: string, options?: SafetensorsReadOptions): Promise<tf.Tensor>;
  /** Closes every file. Safe to call twice. */
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens a Hugging Face style checkpoint for per-tensor reading.
 *
 * `path` may be a directory (which must hold `model.safetensors` or `model.safetensors.index.json`;
 * like `transformers`, the single file wins when both exist), a `.safetensors` file, or an index file.
 * A sharded checkpoint is checked as a whole on open: every shard exists and parses, every tensor of
 * the index is in the shard it points to, and no tensor is in two shards or in a shard the index does
 * not list it under.
 *
 * Close it when done. Node only.
 *
 * @throws SafetensorsError naming the index or shard (and tensor) on any inconsistency
 * @example
 * const ckpt = await openCheckpoint('/models/Llama-3-8B-Instruct');
 * try {
 *   for (const name of ckpt.keys()) {
 *     const t = await ckpt.readTensor(name); // one tensor in memory at a time
 *     model.load(name, t);
 *   }
 * } finally {
 *   await ckpt.close();
 * }
 */
export async function openCheckpoint(path: string): Promise<SafetensorsCheckpoint> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const abs = nodePath.resolve(path);
  const st = await fs.stat(abs);
  if (st.isDirectory()) {
    const single = nodePath.join(abs, SAFETENSORS_SINGLE_FILE);
    if (await exists(single)) return singleFileCheckpoint(abs, await openSafetensors(single));
    const index = nodePath.join(abs, SAFETENSORS_INDEX_FILE);
    if (await exists(index)) return openIndexed(index);
    throw new SafetensorsError(
      abs,
      `no ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE} in this directory`,
    );
  }
  if (abs.endsWith('.json')) return openIndexed(abs);
  return singleFileCheckpoint(nodePath.dirname(abs), await openSafetensors(abs));
}

function singleFileCheckpoint(dir: string, f: SafetensorsFile): SafetensorsCheckpoint {
  return {
    dir,
    sharded: false,
    files: [f.path],
    metadata: f.metadata,
    keys: () => f.keys(),
    has: (name) => f.has(name),
    info: (name) => ({ ...f.info(name), file: f.path }),
    readTensorBytes: (name) => f.readTensorBytes(name),
    readTensor: (name, options) => f.readTensor(name, options),
    close: () => f.close(),
  };
}

async function openIndexed(indexPath: string): Promise<SafetensorsCheckpoint> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const dir = nodePath.dirname(indexPath);
  let json: unknown;
  let text: string;
  try {
    text = await fs.readFile(indexPath, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SafetensorsError(indexPath, `cannot read the index (${code ?? (e as Error).message})`);
  }
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(indexPath, `index is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  const dup = firstDuplicateKey(text);
  if (dup)
    throw new SafetensorsError(
      indexPath,
      `the index lists ${JSON.stringify(dup.key)}${dup.path ? ` in ${JSON.stringify(dup.path)}` : ''} twice (at character ${dup.offset})`,
      dup.path === 'weight_map' ? dup.key : undefined,
    );
  const isObject = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === 'object' && !Array.isArray(x);
  if (!isObject(json) || !isObject(json.weight_map)) {
    throw new SafetensorsError(indexPath, 'index is not an object with a "weight_map" object');
  }
  const metadata = isObject(json.metadata) ? json.metadata : {};
  const weightMap = new Map<string, string>();
  const shardNames: string[] = [];
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard.length === 0) {
      throw new SafetensorsError(
        indexPath,
        `weight_map entry is ${JSON.stringify(shard)}, expected a file name`,
        name,
      );
    }
    // Shards must sit in the checkpoint directory: an index must not make us read arbitrary files.
    const resolved = nodePath.resolve(dir, shard);
    if (nodePath.dirname(resolved) !== dir) {
      throw new SafetensorsError(
        indexPath,
        `weight_map points outside the checkpoint directory: ${shard}`,
        name,
      );
    }
    if (!shardNames.includes(resolved)) shardNames.push(resolved);
    weightMap.set(name, resolved);
  }

  if (weightMap.size === 0)
    throw new SafetensorsError(indexPath, 'weight_map is empty: the index lists no tensor');
  // A shard on disk that the index does not list would be silently ignored (its tensors vanish):
  // with the standard names (model-00001-of-00003.safetensors) every shard up to the count must be listed.
  const listed = new Set(shardNames.map((f) => nodePath.basename(f)));
  const counts = new Set([...listed].map((f) => /^model-\d{5}-of-(\d{5})\.safetensors$/.exec(f)?.[1]));
  for (const count of counts) {
    if (count === undefined) continue;
    const n = Number(count);
    for (let k = 1; k <= n; k++) {
      const name = `model-${String(k).padStart(5, '0')}-of-${count}.safetensors`;
      if (!listed.has(name) && (await exists(nodePath.join(dir, name))))
        throw new SafetensorsError(
          indexPath,
          `${name} is in the checkpoint directory but the weight_map lists none of its tensors (stale index or wrong shard?)`,
        );
    }
  }

  const opened = new Map<string, SafetensorsFile>();
  const closeAll = async () => {
    await Promise.all([...opened.values()].map((f) => f.close()));
  };
  try {
    for (const shard of shardNames) {
      if (!(await exists(shard))) {
        const first = [...weightMap].find(([, s]) => s === shard)![0];
        throw new SafetensorsError(
          indexPath,
          `weight_map points to ${nodePath.basename(shard)}, which does not exist`,
          first,
        );
      }
      opened.set(shard, await openSafetensors(shard));
    }
    for (const [name, shard] of weightMap) {
      if (!opened.get(shard)!.has(name)) {
        throw new SafetensorsError(
          shard,
          `listed in ${SAFETENSORS_INDEX_FILE} but missing from this shard`,
          name,
        );
      }
    }
    for (const [shard, f] of opened) {
      for (const name of f.keys()) {
        const listed = weightMap.get(name);
        if (listed === undefined) {
          throw new SafetensorsError(
            shard,
            `present in this shard but not listed in ${SAFETENSORS_INDEX_FILE}`,
            name,
          );
        }
        if (listed !== shard) {
          throw new SafetensorsError(
            shard,
            `duplicate tensor: also in ${nodePath.basename(listed)}, which ${SAFETENSORS_INDEX_FILE} points to`,
            name,
          );
        }
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  const fileOf = (name: string): SafetensorsFile => {
    const shard = weightMap.get(name);
    if (shard === undefined) throw new SafetensorsError(indexPath, 'no such tensor in this checkpoint', name);
    return opened.get(shard)!;
  };
  return {
    dir,
    sharded: true,
    files: shardNames,
    metadata,
    keys: () => [...weightMap.keys()],
    has: (name) => weightMap.has(name),
    info: (name) => {
      const f = fileOf(name);
      return { ...f.info(name), file: f.path };
    },
    readTensorBytes: (name) => fileOf(name).readTensorBytes(name),
    readTensor: (name, options) => fileOf(name).readTensor(name, options),
    close: closeAll,
  };
}

/**
 * Reads every tensor of a checkpoint (single file or sharded) into tfjs tensors, one at a time.
 * The caller disposes them; on an error none is left allocated.
 *
 * @example
 * const weights = await loadCheckpoint('runs/fusion/checkpoint-3');
 */
export async function loadCheckpoint(
  path: string,
  options: SafetensorsReadOptions = {},
): Promise<Map<string, tf.Tensor>> {
  const ckpt = await openCheckpoint(path);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const name of ckpt.keys()) out.set(name, await ckpt.readTensor(name, options));
    return out;
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  } finally {
    await ckpt.close();
  }
}

/** Options of {@link saveShardedSafetensors}. */
export interface SaveShardedSafetensorsOptions extends Omit<SafetensorsSerializeOptions, 'file'> {
  /**
   * Largest shard in tensor bytes (headers not counted), default 5e9 as in `transformers`. A tensor
   * larger than this gets a shard of its own.
   */
  maxShardBytes?: number;
  /** `__metadata__` of every shard; `format: 'pt'` is added unless given, as `transformers` expects it. */
  metadata?: Record<string, string>;
}

/** What {@link saveShardedSafetensors} wrote. */
export interface SavedSafetensorsCheckpoint {
  /** Absolute paths of the safetensors files written, in shard order. */
  files: string[];
  /** Absolute path of the index, when more than one shard was written. */
  index?: string;
  /** Sum of all tensors' byte sizes (the index's `metadata.total_size`). */
  totalSize: number;
}

/**
 * Writes a checkpoint directory the way Hugging Face `save_pretrained` lays it out: tensors are packed
 * greedily, in the order given, into shards of at most `maxShardBytes`, named
 * `model-00001-of-0000N.safetensors`, with `model.safetensors.index.json`
 * (`{ metadata: { total_size }, weight_map }`). When everything fits in one shard it writes a single
 * `model.safetensors` and no index, as `transformers` does.
 *
 * Atomic as a whole as far as a file system allows: every file is first written to a temporary name;
 * only when all are complete are they renamed into place, the index last. On any error all temporary
 * files are removed and the directory is untouched. After success, checkpoint files of an earlier save
 * that the new one does not use (`model.safetensors`, the index, `model-*-of-*.safetensors`) are
 * deleted so that `openCheckpoint` cannot pick up a stale one.
 *
 * Input tensors are not disposed. Node only.
 *
 * @example
 * const saved = await saveShardedSafetensors('out/ckpt', model.stateDict(), {
 *   maxShardBytes: 2e9,
 *   floatDtype: 'BF16',
 * });
 * console.log(saved.files.length, 'shards');
 */
export async function saveShardedSafetensors(
  dir: string,
  tensors: SafetensorsInputs,
  options: SaveShardedSafetensorsOptions = {},
): Promise<SavedSafetensorsCheckpoint> {
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const absDir = nodePath.resolve(dir);
  const maxShardBytes = options.maxShardBytes ?? 5e9;
  if (!(maxShardBytes > 0))
    throw new SafetensorsError(absDir, `maxShardBytes must be positive, got ${maxShardBytes}`);
  const metadata = { format: 'pt', ...options.metadata };
  const serializeOptions: SafetensorsSerializeOptions = options.floatDtype
    ? { floatDtype: options.floatDtype }
    : {};

  // Validate everything and learn every tensor's size before writing a byte.
  const entries = entriesOf(tensors);
  const whole = planSafetensors(entries, metadata, { ...serializeOptions, file: absDir });
  const sizeOf = new Map(whole.tensors.map((t) => [t.name, t.byteLength]));
  const totalSize = whole.totalBytes - whole.header.byteLength;

  const groups: (typeof entries)[] = [];
  let current: typeof entries = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const size = sizeOf.get(entry[0])!;
    if (current.length > 0 && currentBytes + size > maxShardBytes) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += size;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);

  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, '0');
  const names =
    n === 1
      ? [SAFETENSORS_SINGLE_FILE]
      : groups.map((_, i) => `model-${pad(i + 1)}-of-${pad(n)}.safetensors`);

  await fs.mkdir(absDir, { recursive: true });
  const pending: PendingFile[] = [];
  try {
    const weightMap: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const path = nodePath.join(absDir, names[i]!);
      const plan = planSafetensors(groups[i]!, metadata, { ...serializeOptions, file: path });
      pending.push(await writeTemp(path, (fh) => writePlan(fh, plan, path)));
      for (const [name] of groups[i]!) weightMap[name] = names[i]!;
    }
    if (n > 1) {
      const sortedMap = Object.fromEntries(
        Object.keys(weightMap)
          .sort(compareCodePoints)
          .map((k) => [k, weightMap[k]]),
      );
      // Same shape and key order as `transformers` (json.dumps(indent=2, sort_keys=True) plus a newline).
      const text = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2)}\n`;
      const indexPath = nodePath.join(absDir, SAFETENSORS_INDEX_FILE);
      const bytes = new TextEncoder().encode(text);
      pending.push(await writeTemp(indexPath, (fh) => writeAll(fh, bytes, 0)));
    }
  } catch (e) {
    await Promise.all(pending.map((p) => p.abort()));
    throw e;
  }
  // The index goes last, so a reader that sees the new index finds the new shards in place.
  for (let i = 0; i < pending.length; i++) {
    try {
      await pending[i]!.commit();
    } catch (e) {
      await Promise.all(pending.slice(i).map((p) => p.abort()));
      throw e;
    }
  }

  const written = new Set(pending.map((p) => nodePath.basename(p.target)));
  for (const entry of await fs.readdir(absDir)) {
    const stale =
      entry === SAFETENSORS_SINGLE_FILE || entry === SAFETENSORS_INDEX_FILE || SHARD_NAME.test(entry);
    if (stale && !written.has(entry)) await fs.rm(nodePath.join(absDir, entry), { force: true });
  }
  return {
    files: names.map((f) => nodePath.join(absDir, f)),
    ...(n > 1 ? { index: nodePath.join(absDir, SAFETENSORS_INDEX_FILE) } : {}),
    totalSize,
  };
}
