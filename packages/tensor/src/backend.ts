import type { loadNativeBlas } from '@mmesid/blas-native';
import { BackendError } from './errors.js';
import { registerAdamWUpdate } from './ops/adamw-update.js';
import { registerCountAtLeast } from './ops/count-at-least.js';
import { registerGaussianMmd } from './ops/gaussian-mmd.js';
import { registerLinear } from './ops/linear.js';
import { registerLogNormalize } from './ops/log-normalize.js';
import { registerNearestFromProducts } from './ops/nearest-from-products.js';
import { registerRmsNorm } from './ops/rms-norm.js';
import { registerRotaryHalf } from './ops/rotary.js';
import { registerSinkhornArgMax } from './ops/sinkhorn-argmax.js';
import { registerSoftmaxCrossEntropy } from './ops/softmax-cross-entropy.js';
import { registerSwiglu } from './ops/swiglu.js';
import { installSharedTapeSave } from './ops/tape-save.js';
import { registerWasmIdentity } from './ops/wasm-identity.js';
import { registerMissingWasmKernels } from './ops/wasm-kernels.js';
import { registerWasmMatMul, useNativeSgemm } from './ops/wasm-matmul.js';
import { registerWeightedTermSum } from './ops/weighted-term-sum.js';
import { tf } from './tf.js';

/**
 * The one-pass and fused kernels of `./ops` (cpu and wasm; each registers once), and the engine's
 * kernel-free save of tensors for the backward pass.
 */
function registerMmesidKernels(): void {
  registerCountAtLeast();
  registerAdamWUpdate();
  registerLogNormalize();
  registerRmsNorm();
  registerRotaryHalf();
  registerLinear();
  registerSwiglu();
  registerNearestFromProducts();
  registerSinkhornArgMax();
  registerGaussianMmd();
  registerWeightedTermSum();
  registerSoftmaxCrossEntropy();
  installSharedTapeSave();
}

/** Backends in the order we prefer them. `tfjs-node(-gpu)` register under tfjs's name `tensorflow`. */
export type BackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'webgpu' | 'wasm' | 'cpu';

export const NODE_BACKEND_ORDER: readonly BackendName[] = [
  'tfjs-node-gpu',
  'tfjs-node',
  'webgpu',
  'wasm',
  'cpu',
];
export const BROWSER_BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface InitBackendOptions {
  /** Try these first, in this order, then the rest of the default order. */
  prefer?: BackendName | readonly BackendName[];
  /** Only this backend will do; if it cannot start, throw a `BackendError` saying why and how to fix it. */
  require?: BackendName;
  /** Where the WASM binaries are served from (browsers and bundlers; Node finds them itself). */
  wasmPaths?: string;
  /**
   * Print the choice and the reasons to the console (default true). With `false`, a fallback away
   * from a `prefer`red backend is still printed (console.warn): it never happens silently.
   */
  log?: boolean;
  /** Ignore `MMESID_BACKEND` (test harnesses that visit every backend set this). */
  ignoreEnv?: boolean;
  /**
   * On WASM in Node, run matmuls through OpenBLAS (the optional `@mmesid/blas-native` addon, in
   * place on the WASM heap) instead of XNNPACK. Default: `MMESID_NATIVE_BLAS=1` in the
   * environment. When the addon is not built the reason is reported and XNNPACK is used.
   */
  nativeBlas?: boolean;
  /**
   * How to load a backend package. In Node the packages are found by name at run time; a browser
   * bundle only contains what it imports, so pass e.g.
   * `{ webgpu: () => import('@tensorflow/tfjs-backend-webgpu') }`. A backend that is already
   * registered with tfjs (because the app imported it) is used without loading anything.
   */
  loaders?: Partial<Record<BackendName, () => Promise<unknown>>>;
}

export interface BackendChoice {
  /** The backend that is now active. */
  name: BackendName;
  /** tfjs's own name for it (`tensorflow`, `webgpu`, `wasm`, `cpu`). */
  tfName: string;
  /** Why each backend tried before it was not used. */
  skipped: { name: BackendName; reason: string }[];
  /** GPU adapter description where there is one. */
  adapter?: string;
  /** Set when `MMESID_BACKEND` decided. */
  fromEnv?: boolean;
  /** On WASM with `nativeBlas`: the OpenBLAS in use, or why it is not. */
  nativeBlas?: string;
}

type Probe = { ok: true; tfName: string; adapter?: string } | { ok: false; reason: string };

const TF_NAME: Record<BackendName, string> = {
  'tfjs-node-gpu': 'tensorflow',
  'tfjs-node': 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

export function isBrowser(): boolean {
  const g = globalThis as {
    window?: unknown;
    WorkerGlobalScope?: unknown;
    process?: { versions?: { node?: string } };
  };
  // A page has `window`; a (module) worker has `WorkerGlobalScope` and no `window`.
  return (
    (typeof g.window !== 'undefined' || typeof g.WorkerGlobalScope !== 'undefined') &&
    !g.process?.versions?.node
  );
}

function isNode(): boolean {
  return !!(globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
}

function envBackend(): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.MMESID_BACKEND;
  return v && v.length > 0 ? v : undefined;
}

// Module names are held in variables so that bundlers do not try to resolve optional packages;
// in browsers the app passes `loaders` (or imports the backend itself) instead.
async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

const PACKAGE: Record<BackendName, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Loads a backend's package unless tfjs already knows the backend; returns the module or null. */
async function loadBackendPackage(name: BackendName, opts: InitBackendOptions): Promise<unknown> {
  if (tf.findBackendFactory(TF_NAME[name])) return null;
  const loader = opts.loaders?.[name];
  if (loader) return loader();
  if (!isNode())
    throw new Error(
      `Cannot find package ${PACKAGE[name]} in this bundle: add \`import '@mmesid/tensor/${name}'\` to your app (it registers the backend${name === 'wasm' ? ' and lets your bundler serve its .wasm files' : ''}), or pass initBackend({ loaders: { ${name}: () => import('${PACKAGE[name]}') } })`,
    );
  return importOptional(PACKAGE[name]);
}

function describeImportError(pkg: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (msg.includes('in this bundle')) return msg;
  if (/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|Failed to resolve|Could not resolve/i.test(msg))
    return `package ${pkg} is not installed (add it to your project's dependencies with your package manager, e.g. \`npm install ${pkg}\`)`;
  return `${pkg} failed to load: ${msg.split('\n')[0]}`;
}

let dawnInstalled: { adapter?: string } | null = null;

/** Chromium's SwiftShader Vulkan driver (Debian's `chromium` package): a CPU fallback for Dawn. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

type DawnAdapter = {
  info?: { description?: string; vendor?: string; architecture?: string; device?: string };
};
type DawnGpu = { requestAdapter(opts?: unknown): Promise<DawnAdapter | null> };

/**
 * Makes `navigator.gpu` available in Node through Dawn's `webgpu` package, on the machine's own
 * Vulkan driver first (a real GPU). Only when that finds no adapter, and the user has not chosen a
 * driver with VK_ICD_FILENAMES, it retries on Chromium's SwiftShader (a CPU implementation, for
 * tests). The adapter description says which one was used. The one place in the project that
 * decides this (the test harness and the benchmarks call `initBackend`).
 */
async function installDawn(): Promise<{ ok: true; adapter?: string } | { ok: false; reason: string }> {
  if (dawnInstalled) return { ok: true, ...dawnInstalled };
  let mod: { create: (opts: string[]) => unknown; globals: Record<string, unknown> };
  try {
    mod = (await importOptional('webgpu')) as typeof mod;
  } catch (e) {
    return { ok: false, reason: describeImportError('webgpu', e) };
  }
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  if (!env.XDG_RUNTIME_DIR)
    env.XDG_RUNTIME_DIR = ((await importOptional('node:os')) as typeof import('node:os')).tmpdir();
  const open = async () => {
    const gpu = mod.create([]) as DawnGpu;
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
    return { gpu, adapter };
  };
  let { gpu, adapter } = await open();
  let fallback = false;
  if (!adapter && !env.VK_ICD_FILENAMES) {
    const { existsSync } = (await importOptional('node:fs')) as typeof import('node:fs');
    if (existsSync(SWIFTSHADER_ICD)) {
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      ({ gpu, adapter } = await open());
      fallback = !!adapter;
      if (!adapter) delete env.VK_ICD_FILENAMES;
    }
  }
  if (!adapter) {
    return {
      ok: false,
      reason:
        `Dawn found no WebGPU adapter${env.VK_ICD_FILENAMES ? ` with VK_ICD_FILENAMES=${env.VK_ICD_FILENAMES}` : ''}. ` +
        'On a machine without a GPU install a Vulkan driver such as SwiftShader ' +
        `(Debian: \`apt-get install chromium libvulkan1\`, used automatically from ${SWIFTSHADER_ICD})`,
    };
  }
  Object.assign(globalThis, mod.globals);
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  const info = adapter.info ?? {};
  const desc = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const how = fallback
    ? 'SwiftShader fallback: no hardware adapter found'
    : env.VK_ICD_FILENAMES
      ? `VK_ICD_FILENAMES=${env.VK_ICD_FILENAMES}`
      : 'default Vulkan driver';
  dawnInstalled = { adapter: `${desc || 'unnamed adapter'} (${how})` };
  return { ok: true, ...dawnInstalled };
}

async function activate(tfName: string): Promise<string | null> {
  try {
    const ok = await tf.setBackend(tfName);
    await tf.ready();
    if (!ok || tf.getBackend() !== tfName) return `tfjs could not initialise the ${tfName} backend`;
    return null;
  } catch (e) {
    return `tfjs could not initialise the ${tfName} backend: ${e instanceof Error ? e.message : String(e)}`;
  }
}

async function probe(name: BackendName, opts: InitBackendOptions): Promise<Probe> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      if (!isNode()) return { ok: false, reason: `${name} only runs in Node.js` };
      const pkg = PACKAGE[name];
      try {
        await loadBackendPackage(name, opts);
      } catch (e) {
        return { ok: false, reason: describeImportError(pkg, e) };
      }
      const err = await activate('tensorflow');
      if (err)
        return { ok: false, reason: `${err} (for ${pkg} check that CUDA/cuDNN and libtensorflow installed)` };
      return { ok: true, tfName: 'tensorflow' };
    }
    case 'webgpu': {
      let adapter: string | undefined;
      if (isNode()) {
        const dawn = await installDawn();
        if (!dawn.ok) return dawn;
        adapter = dawn.adapter;
      } else {
        const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
          .navigator;
        if (!nav?.gpu)
          return { ok: false, reason: 'this browser has no navigator.gpu (WebGPU disabled or unsupported)' };
        const a = await nav.gpu.requestAdapter().catch(() => null);
        if (!a) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned no adapter' };
      }
      try {
        await loadBackendPackage('webgpu', opts);
      } catch (e) {
        return { ok: false, reason: describeImportError('@tensorflow/tfjs-backend-webgpu', e) };
      }
      const err = await activate('webgpu');
      return err
        ? { ok: false, reason: err }
        : { ok: true, tfName: 'webgpu', ...(adapter ? { adapter } : {}) };
    }
    case 'wasm': {
      try {
        const wasm = (await loadBackendPackage('wasm', opts)) as {
          setWasmPaths?: (p: string) => void;
        } | null;
        if (opts.wasmPaths) wasm?.setWasmPaths?.(opts.wasmPaths);
        registerMissingWasmKernels();
        registerWasmMatMul();
        registerWasmIdentity();
        registerMmesidKernels();
      } catch (e) {
        return { ok: false, reason: describeImportError('@tensorflow/tfjs-backend-wasm', e) };
      }
      const err = await activate('wasm');
      if (err && /magic word/.test(err))
        return {
          ok: false,
          reason: `${err} (the .wasm binary's URL served something else, often the app's index.html: in a bundled app add \`import '@mmesid/tensor/wasm'\`, or pass \`wasmPaths\` where the three tfjs-backend-wasm*.wasm files are served)`,
        };
      return err ? { ok: false, reason: err } : { ok: true, tfName: 'wasm' };
    }
    case 'cpu': {
      try {
        await loadBackendPackage('cpu', opts);
        registerMmesidKernels();
      } catch (e) {
        return { ok: false, reason: describeImportError('@tensorflow/tfjs-backend-cpu', e) };
      }
      const err = await activate('cpu');
      return err ? { ok: false, reason: err } : { ok: true, tfName: 'cpu' };
    }
  }
}

function parseName(v: string, source: string): BackendName {
  const aliases: Record<string, BackendName> = {
    tensorflow: 'tfjs-node',
    node: 'tfjs-node',
    gpu: 'tfjs-node-gpu',
    cuda: 'tfjs-node-gpu',
  };
  const name = (aliases[v] ?? v) as BackendName;
  if (!NODE_BACKEND_ORDER.includes(name))
    throw new BackendError(
      `${source}: unknown backend "${v}"; expected one of ${NODE_BACKEND_ORDER.join(', ')}`,
    );
  return name;
}

const probeCache = new Map<BackendName, Probe>();
let nativeBlas: ReturnType<typeof loadNativeBlas> | null = null;

/** Switches the WASM matmuls to the native addon (or back) and says what happened. */
async function chooseNativeBlas(want: boolean): Promise<string | undefined> {
  if (!want) {
    useNativeSgemm(null);
    return undefined;
  }
  if (!nativeBlas) {
    try {
      const mod = (await importOptional('@mmesid/blas-native')) as { loadNativeBlas: typeof loadNativeBlas };
      nativeBlas = mod.loadNativeBlas();
    } catch (e) {
      nativeBlas = { ok: false, reason: describeImportError('@mmesid/blas-native', e) };
    }
  }
  if (!nativeBlas?.ok) {
    useNativeSgemm(null);
    return `not used: ${nativeBlas?.reason}`;
  }
  useNativeSgemm(nativeBlas.blas);
  return nativeBlas.blas.config();
}

/**
 * Picks and activates the best available tfjs backend and says why each better one was not used.
 *
 * Node order: tfjs-node-gpu (CUDA), tfjs-node, WebGPU (Dawn's `webgpu` package), WASM, CPU.
 * Browser order: WebGPU, WASM, CPU. `MMESID_BACKEND=<name>` in the environment acts as `require`.
 *
 * @example
 * const choice = await initBackend({ prefer: 'wasm' });
 * console.log(choice.name, choice.skipped);
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendChoice> {
  const log = opts.log ?? true;
  const env = opts.ignoreEnv ? undefined : envBackend();
  const required = env
    ? parseName(env, 'MMESID_BACKEND')
    : opts.require
      ? parseName(opts.require, 'require')
      : undefined;
  const base = isBrowser() ? BROWSER_BACKEND_ORDER : NODE_BACKEND_ORDER;
  const prefer =
    opts.prefer === undefined ? [] : Array.isArray(opts.prefer) ? opts.prefer : [opts.prefer as BackendName];
  const preferred = prefer.map((p) => parseName(p, 'prefer'));
  const order = required ? [required] : [...new Set([...preferred, ...base])];
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of order) {
    // A backend that started once is re-activated rather than probed again (Dawn and tfjs keep state).
    let p = probeCache.get(name);
    if (p?.ok) {
      const err = await activate(p.tfName);
      if (err) p = { ok: false, reason: err };
    } else if (!p) {
      p = await probe(name, opts);
      probeCache.set(name, p);
    }
    if (p.ok) {
      const want =
        name === 'wasm' &&
        isNode() &&
        (opts.nativeBlas ??
          (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
            ?.MMESID_NATIVE_BLAS === '1');
      const native = name === 'wasm' ? await chooseNativeBlas(want) : undefined;
      const choice: BackendChoice = {
        name,
        tfName: p.tfName,
        skipped,
        ...(p.adapter ? { adapter: p.adapter } : {}),
        ...(env ? { fromEnv: true } : {}),
        ...(native ? { nativeBlas: native } : {}),
      };
      // A backend the caller asked for that could not start is reported even with `log: false`.
      if (log) console.log(formatChoice(choice));
      else if (skipped.some((x) => preferred.includes(x.name))) console.warn(formatChoice(choice));
      return choice;
    }
    skipped.push({ name, reason: p.reason });
  }
  if (required) {
    throw new BackendError(
      `backend "${required}" was required${env ? ' by MMESID_BACKEND' : ''} but cannot start: ${skipped[0]?.reason}`,
    );
  }
  throw new BackendError(
    `no tfjs backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** Whether a backend can start here, without leaving it active (the previous backend is restored). */
export async function checkBackend(name: BackendName, opts: InitBackendOptions = {}): Promise<Probe> {
  const previous = tf.getBackend();
  try {
    const choice = await initBackend({ ...opts, require: name, log: false, ignoreEnv: true });
    return { ok: true, tfName: choice.tfName, ...(choice.adapter ? { adapter: choice.adapter } : {}) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  } finally {
    if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  }
}

export function formatChoice(c: BackendChoice): string {
  const lines = [
    `[mmesid] backend: ${c.name}${c.adapter ? ` (${c.adapter})` : ''}${c.fromEnv ? ' (MMESID_BACKEND)' : ''}`,
  ];
  if (c.nativeBlas) lines.push(`[mmesid]   native BLAS: ${c.nativeBlas}`);
  for (const s of c.skipped) lines.push(`[mmesid]   not ${s.name}: ${s.reason}`);
  return lines.join('\n');
}
