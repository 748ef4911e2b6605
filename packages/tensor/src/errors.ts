/**
 * Typed errors of @mmesid/tensor. The base class and `ConfigError` live in the dependency-free
 * @mmesid/core (shared with @mmesid/datasets) and are re-exported here, so model packages import
 * every error from one place. Each message names the file, line or tensor at fault and what was
 * expected, so a user can act on it without reading our source.
 */
import { MmesidError } from '@mmesid/core';

export { ConfigError, MmesidError } from '@mmesid/core';

/** A tensor has the wrong shape or dtype for the operation or the state dict key it is bound to. */
export class ShapeError extends MmesidError {}

/** A safetensors file (or its sharded index) is malformed, truncated or does not hold what was asked. */
export class SafetensorsError extends MmesidError {
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? ` [${tensor}]` : ''}: ${message}`);
  }
}

/** `loadStateDict` found missing, unexpected or mis-shaped keys. */
export class StateDictError extends MmesidError {
  constructor(
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: { key: string; expected: number[]; got: number[] }[],
    context = 'state dict',
  ) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys (${missing.length}): ${listPreview(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${listPreview(unexpected)}`);
    if (mismatched.length)
      parts.push(
        `shape mismatches (${mismatched.length}): ${listPreview(
          mismatched.map((m) => `${m.key} expected [${m.expected}] got [${m.got}]`),
        )}`,
      );
    super(`${context}: ${parts.join('; ')}`);
  }
}

/** A backend was required (or is the only choice) but cannot start; the message says why and how to fix it. */
export class BackendError extends MmesidError {}

/** Tensors were allocated and not disposed inside a leak-checked region. */
export class LeakError extends MmesidError {}

/** Lists up to 20 items, then says how many more there are. */
export function listPreview(items: readonly string[], max = 20): string {
  const head = items.slice(0, max).join(', ');
  return items.length > max ? `${head}, ... (${items.length - max} more)` : head;
}
