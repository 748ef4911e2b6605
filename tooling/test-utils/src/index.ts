/**
 * The backend test harness. `describeBackends(name, fn)` runs a suite once per tfjs backend
 * (cpu, wasm, webgpu through Dawn, tensorflow through tfjs-node where installed), skips a backend
 * that cannot start with the reason printed, and checks that no test leaks tensors.
 *
 * `MMESID_TEST_BACKENDS=wasm,cpu` restricts the list (to run one package on one backend).
 */
import { type BackendName, checkBackend, initBackend, liveTensors, tf } from '@mmesid/tensor';
import { afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import '#backends';

export type TestBackend = 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';

export const ALL_TEST_BACKENDS: readonly TestBackend[] = ['cpu', 'wasm', 'webgpu', 'tensorflow'];

/**
 * Absolute tolerances that cross-backend comparisons may assume for f32 results of moderate
 * size: cpu and wasm do IEEE f32 with different summation orders; WebGPU shaders may use fused or
 * reordered arithmetic.
 */
export const BACKEND_TOLERANCE: Record<TestBackend, number> = {
  cpu: 1e-5,
  wasm: 1e-5,
  webgpu: 1e-4,
  tensorflow: 1e-5,
};

const TO_NAME: Record<TestBackend, BackendName> = {
  cpu: 'cpu',
  wasm: 'wasm',
  webgpu: 'webgpu',
  tensorflow: 'tfjs-node',
};

function selected(): TestBackend[] {
  const env =
    (typeof process !== 'undefined' ? process.env?.MMESID_TEST_BACKENDS : undefined) ??
    (import.meta as { env?: Record<string, string | undefined> }).env?.MMESID_TEST_BACKENDS;
  if (!env) return [...ALL_TEST_BACKENDS];
  const names = env
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as TestBackend[];
  for (const n of names)
    if (!ALL_TEST_BACKENDS.includes(n)) throw new Error(`MMESID_TEST_BACKENDS: unknown backend "${n}"`);
  return names;
}

const availability = new Map<TestBackend, { ok: boolean; reason?: string }>();

async function probeAll(): Promise<void> {
  for (const b of selected()) {
    if (availability.has(b)) continue;
    let r = await checkBackend(TO_NAME[b]);
    if (!r.ok && b === 'tensorflow') {
      const gpu = await checkBackend('tfjs-node-gpu');
      if (gpu.ok) r = gpu;
    }
    availability.set(b, r.ok ? { ok: true } : { ok: false, reason: r.reason });
  }
}

// Dawn's Vulkan driver is chosen by initBackend (@mmesid/tensor): the machine's own GPU first,
// Chromium's SwiftShader only when no adapter is found (see CONTRIBUTING.md).

// Top-level await: the suites below are declared once we know which backends can start.
await probeAll();

export interface BackendContext {
  backend: TestBackend;
  /** Absolute tolerance to use for f32 comparisons on this backend. */
  tol: number;
}

export interface DescribeBackendsOptions {
  /** Only these backends (e.g. a suite that needs float64-like accuracy). */
  only?: readonly TestBackend[];
  /** Skip these, with the reason printed. */
  exclude?: Partial<Record<TestBackend, string>>;
  /** Allow this many extra live tensors after each test (default 0). */
  allowLeaks?: number;
}

/** Backends this process can run right now (after the filters of `MMESID_TEST_BACKENDS`). */
export function availableBackends(): TestBackend[] {
  return [...availability].filter(([, a]) => a.ok).map(([b]) => b);
}

/** Activates a backend from inside a test (e.g. to compare results across backends). */
export async function useBackend(b: TestBackend): Promise<void> {
  await initBackend({ require: TO_NAME[b], log: false, ignoreEnv: true });
}

/**
 * Declares `fn`'s tests once per available backend, with the backend active, plus a leak check
 * after each test.
 */
export function describeBackends(
  name: string,
  fn: (ctx: BackendContext) => void,
  opts: DescribeBackendsOptions = {},
): void {
  for (const b of selected()) {
    const title = `${name} [${b}]`;
    const a = availability.get(b)!;
    const excluded = opts.exclude?.[b];
    if ((opts.only && !opts.only.includes(b)) || excluded || !a.ok) {
      const reason = excluded ?? (a.ok ? 'not in this suite' : a.reason);
      console.warn(`[harness] skipping "${title}": ${reason}`);
      describe.skip(`${title} (skipped: ${reason})`, () => fn({ backend: b, tol: BACKEND_TOLERANCE[b] }));
      continue;
    }
    describe(title, () => {
      let before = 0;
      beforeAll(async () => {
        await useBackend(b);
      });
      beforeEach(async () => {
        if (tf.getBackend() !== (b === 'tensorflow' ? 'tensorflow' : b)) await useBackend(b);
        before = liveTensors();
      });
      afterEach(() => {
        const leaked = liveTensors() - before - (opts.allowLeaks ?? 0);
        expect(leaked, `tensors leaked by this test on ${b}`).toBeLessThanOrEqual(0);
      });
      fn({ backend: b, tol: BACKEND_TOLERANCE[b] });
    });
  }
}

/** Max absolute difference between two arrays (throws if their lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Where `../shared` is (or `MMESID_SHARED`), and a printed reason when it is absent. */
export { sharedDir } from '#shared';
