/**
 * How much memory a model needs and whether the active backend has it. The check itself
 * ({@link checkMemoryBudget}) is a pure function; {@link detectMemoryBudget} gathers what the
 * environment lets us know.
 */
import { MmesidError, tf } from '@mmesid/tensor';

/** Bytes tfjs holds per parameter: it computes in float32 only, so F16/BF16 checkpoints double in size. */
export const TFJS_BYTES_PER_PARAM = 4;

/** The largest heap the tfjs WASM backend can grow to (wasm32: 4 GiB minus one 64 KiB page). */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

/** What we could learn about the memory available to the backend. */
export interface MemoryBudget {
  /** Bytes the weights may use, or null when nothing can be known (then the check passes with a note). */
  availableBytes: number | null;
  /** Where the figure comes from (printed with the decision). */
  source: string;
  /** The largest single tensor the backend accepts, where it has such a limit (WebGPU's maxBufferSize). */
  maxTensorBytes?: number;
  /** Caveats printed with the decision. */
  notes?: string[];
}

/** Outcome of {@link checkMemoryBudget}. */
export interface MemoryCheck {
  ok: boolean;
  neededBytes: number;
  /** One human-readable paragraph: what is needed, what is available, and the decision. */
  message: string;
}

/** Formats a byte count with binary units (e.g. "29.9 GiB"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/**
 * Decides whether `numParams` float32 parameters (plus `headroom`, default 10 %, for activations and
 * transient copies while loading) fit the budget. Pure: pass the figures, get the decision.
 *
 * @example
 * checkMemoryBudget({ numParams: 8.03e9 }, { availableBytes: 24 * 2 ** 30, source: 'os.freemem()' });
 * // { ok: false, neededBytes: 32120000000, message: '... needs 29.9 GiB ...' }
 */
export function checkMemoryBudget(
  need: { numParams: number; bytesPerParam?: number; largestTensorBytes?: number; headroom?: number },
  budget: MemoryBudget,
): MemoryCheck {
  const bpp = need.bytesPerParam ?? TFJS_BYTES_PER_PARAM;
  const neededBytes = need.numParams * bpp;
  const withHeadroom = neededBytes * (1 + (need.headroom ?? 0.1));
  const head = `${need.numParams.toLocaleString('en-US')} parameters x ${bpp} bytes = ${formatBytes(neededBytes)} (${neededBytes.toLocaleString('en-US')} bytes)`;
  const notes = budget.notes?.length ? ` Note: ${budget.notes.join(' ')}` : '';
  if (
    budget.maxTensorBytes !== undefined &&
    need.largestTensorBytes !== undefined &&
    need.largestTensorBytes > budget.maxTensorBytes
  ) {
    return {
      ok: false,
      neededBytes,
      message: `${head}; its largest tensor takes ${formatBytes(need.largestTensorBytes)}, more than the ${formatBytes(budget.maxTensorBytes)} one tensor may take on this backend (${budget.source}).${notes}`,
    };
  }
  if (budget.availableBytes === null)
    return {
      ok: true,
      neededBytes,
      message: `${head}; available memory cannot be determined (${budget.source}), loading anyway.${notes}`,
    };
  const ok = withHeadroom <= budget.availableBytes;
  return {
    ok,
    neededBytes,
    message: `${head}; ${formatBytes(budget.availableBytes)} available (${budget.source}) -> ${
      ok ? 'fits' : `does not fit (needs ${formatBytes(withHeadroom)} with headroom for activations)`
    }.${notes}`,
  };
}

interface WebGpuBackendLike {
  device?: { limits?: { maxBufferSize?: number } };
}

/**
 * What the active tfjs backend can hold, as far as we can know:
 * - Node, cpu / tfjs-node: free host memory (`os.freemem()`, of `os.totalmem()`).
 * - Node, wasm: the smaller of free host memory and the 4 GiB wasm32 heap limit.
 * - tfjs-node-gpu: free host memory only; tfjs cannot query GPU memory (weights pass through host
 *   memory while loading, so that still bounds what can load; GPU memory must be checked separately,
 *   e.g. with nvidia-smi).
 * - WebGPU: the device's maxBufferSize as a per-tensor limit; total GPU memory is not exposed. In Node
 *   (Dawn) free host memory is also checked.
 * - Browser: `navigator.deviceMemory` (a rough, capped figure) when present.
 */
export async function detectMemoryBudget(backend: string = tf.getBackend()): Promise<MemoryBudget> {
  const g = globalThis as {
    process?: { versions?: { node?: string } };
    navigator?: { deviceMemory?: number };
  };
  const isNode = !!g.process?.versions?.node;
  const notes: string[] = [];
  let available: number | null = null;
  let source: string;
  if (isNode) {
    const os = await import('node:os');
    available = os.freemem();
    source = `os.freemem() of ${formatBytes(os.totalmem())} total host memory`;
  } else if (typeof g.navigator?.deviceMemory === 'number') {
    available = g.navigator.deviceMemory * 2 ** 30;
    source = 'navigator.deviceMemory (approximate; browsers cap it at 8 GiB)';
  } else {
    source = 'no memory figure available in this environment';
  }
  let maxTensorBytes: number | undefined;
  if (backend === 'wasm') {
    if (available === null || available > WASM_HEAP_LIMIT_BYTES) {
      available = WASM_HEAP_LIMIT_BYTES;
      source = `the wasm32 heap limit of ${formatBytes(WASM_HEAP_LIMIT_BYTES)}`;
    }
  } else if (backend === 'webgpu') {
    const b = tf.backend() as unknown as WebGpuBackendLike;
    maxTensorBytes = b.device?.limits?.maxBufferSize;
    notes.push(
      'WebGPU does not expose total GPU memory; only host memory and the per-buffer limit are checked.',
    );
  } else if (backend === 'tensorflow') {
    notes.push(
      'tfjs-node(-gpu) cannot report GPU memory; only host memory is checked (check GPU memory with nvidia-smi).',
    );
  }
  return {
    availableBytes: available,
    source,
    ...(maxTensorBytes !== undefined ? { maxTensorBytes } : {}),
    notes,
  };
}

/** A model does not fit the memory the backend has; the message gives both figures. */
export class InsufficientMemoryError extends MmesidError {}
