import { MmesidError } from '@mmesid/tensor';

/** One tensor whose shape (or dtype) in the adapter file differs from what the model needs. */
export interface AdapterShapeMismatch {
  key: string;
  expected: number[];
  got: number[];
  /** Set when the dtype, not the shape, is wrong (e.g. an integer tensor where a weight belongs). */
  dtype?: string;
}

/**
 * An adapter does not fit the model it is loaded into. Every problem is listed, not just the first:
 * target patterns that match nothing, tensors the model needs but the file lacks (`missing`), tensors
 * in the file that belong to no adapted module (`unexpected`), and shape mismatches. Keys are the
 * file's PEFT names (`base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight`).
 *
 * @example
 * try { await loadAdapter(model, dir); } catch (e) {
 *   if (e instanceof AdapterMismatchError) console.log(e.missing, e.mismatched);
 * }
 */
export class AdapterMismatchError extends MmesidError {
  constructor(
    readonly source: string,
    readonly problems: string[],
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: AdapterShapeMismatch[],
  ) {
    const parts = [...problems];
    if (missing.length) parts.push(`missing tensors (${missing.length}): ${missing.join(', ')}`);
    if (unexpected.length) parts.push(`unexpected tensors (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length)
      parts.push(
        `shape mismatches (${mismatched.length}): ${mismatched
          .map((m) => `${m.key} expected [${m.expected}] got ${m.dtype ? `dtype ${m.dtype}` : `[${m.got}]`}`)
          .join(', ')}`,
      );
    super(`${source}: the adapter does not fit this model:\n- ${parts.join('\n- ')}`);
  }
}
