import { parseOptions } from '@mmesid/core';
import { z } from 'zod';

/** Options of {@link padSequences}. */
export const PadOptionsSchema = z.strictObject({
  /** Where the padding goes. The authors' LLM batches and SASRec pad on the left. */
  side: z.enum(['left', 'right']).default('left'),
  /** Keep only the last `maxLength` items of a longer sequence (the most recent ones). */
  maxLength: z.number().int().positive().optional(),
  /** Pad to exactly this many columns (must be >= every kept length); else to the longest row. */
  length: z.number().int().positive().optional(),
  /** At least this many columns (the authors' LLM batches use 2). */
  minLength: z.number().int().min(0).default(1),
  /** The id written into padded slots. */
  padId: z.number().int().default(0),
});

/** Options accepted by {@link padSequences} (all optional). */
export type PadOptions = z.input<typeof PadOptionsSchema>;

/** A padded batch of id sequences, row-major `rows x cols`. */
export interface PaddedBatch {
  readonly rows: number;
  readonly cols: number;
  /** The ids, `padId` in padded slots. */
  readonly ids: Int32Array;
  /** 1 where `ids` holds a real item, 0 where it is padding. */
  readonly mask: Uint8Array;
  /** How many real items each row kept (after `maxLength`). */
  readonly lengths: Int32Array;
}

/**
 * Pads (and optionally truncates) id sequences into one rectangular batch with a mask. Left
 * padding puts each row's most recent item in the last column, which is what a causal model
 * reading the last position wants.
 *
 * @example
 * padSequences([[5, 6, 7], [8]], { side: 'left', minLength: 2 });
 * // ids [5,6,7, 0,0,8], mask [1,1,1, 0,0,1], cols 3
 */
export function padSequences(sequences: readonly ArrayLike<number>[], options: PadOptions = {}): PaddedBatch {
  const opts = parseOptions(PadOptionsSchema, options, 'padSequences options');
  const rows = sequences.length;
  const lengths = new Int32Array(rows);
  let longest = 0;
  for (let r = 0; r < rows; r++) {
    const n = sequences[r]!.length;
    lengths[r] = opts.maxLength === undefined ? n : Math.min(n, opts.maxLength);
    if (lengths[r]! > longest) longest = lengths[r]!;
  }
  let cols = Math.max(longest, opts.minLength);
  if (opts.length !== undefined) {
    if (opts.length < longest) {
      throw new RangeError(
        `padSequences: a row keeps ${longest} items but length is ${opts.length}; set maxLength to truncate`,
      );
    }
    cols = Math.max(opts.length, opts.minLength);
  }
  const ids = new Int32Array(rows * cols).fill(opts.padId);
  const mask = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const seq = sequences[r]!;
    const keep = lengths[r]!;
    const from = seq.length - keep;
    const offset = r * cols + (opts.side === 'left' ? cols - keep : 0);
    for (let k = 0; k < keep; k++) {
      ids[offset + k] = seq[from + k]!;
      mask[offset + k] = 1;
    }
  }
  return { rows, cols, ids, mask, lengths };
}
