import type { tf } from '../../tf.js';

/**
 * The parts of tfjs-backend-wasm's backend that the SIMD kernels of this folder use (not in tfjs's
 * public types): the Emscripten module (its exported memory, malloc and free), each tensor's offset
 * on the heap, and outputs allocated there.
 */
export interface WasmHeapBackend {
  wasm: {
    asm: { memory?: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's values on the heap (valid until the next allocation). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

const decoded = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<object, Map<string, WebAssembly.Exports | null>>();

function compiled(base64: string): WebAssembly.Module | null {
  if (!decoded.has(base64)) {
    let mod: WebAssembly.Module | null = null;
    try {
      const bin = atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      // Synchronous: the modules are a few hundred bytes (browsers refuse this only above 4 KB).
      mod = new WebAssembly.Module(bytes);
    } catch {
      mod = null; // no WebAssembly SIMD in this engine
    }
    decoded.set(base64, mod);
  }
  return decoded.get(base64)!;
}

/**
 * The exports of the module `base64` (a WebAssembly binary importing `env.memory`) instantiated
 * on this backend's heap, once per Emscripten module; null where that is not possible (an engine
 * without WebAssembly SIMD, or the threaded build's shared memory, which the modules do not
 * declare), and the caller falls back to its JS loop. Offsets into the heap stay valid when it
 * grows; JS views of it do not (take them after every allocation).
 */
export function heapModule<T = WebAssembly.Exports>(backend: unknown, base64: string): T | null {
  const b = backend as WasmHeapBackend;
  let byModule = instances.get(b.wasm);
  if (!byModule) {
    byModule = new Map();
    instances.set(b.wasm, byModule);
  }
  if (!byModule.has(base64)) {
    const memory = b.wasm.asm?.memory;
    const mod = compiled(base64);
    let exports: WebAssembly.Exports | null = null;
    if (
      mod &&
      memory instanceof WebAssembly.Memory &&
      !(typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)
    ) {
      try {
        exports = new WebAssembly.Instance(mod, { env: { memory } }).exports;
      } catch {
        exports = null;
      }
    }
    byModule.set(base64, exports);
  }
  return byModule.get(base64) as T | null;
}

/** Writes `values` as int32 at `ptr` on the heap (a view taken now, after any allocation). */
export function writeOffsets(memory: WebAssembly.Memory, ptr: number, values: number[]): void {
  new Int32Array(memory.buffer, ptr, values.length).set(values);
}
