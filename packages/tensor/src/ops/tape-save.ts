import { tf } from '../tf.js';

/**
 * Tensors saved for the backward pass without a kernel per tensor. tfjs's engine saves each input
 * and output a gradient needs by `clone` (`Engine.saveTensorsForBackwardMode`): an Identity kernel
 * run plus a tape node of its own, for every saved tensor of every recorded op (about 1,500 per
 * MME-SID micro-batch, a third of its kernels). This does what a sharing Identity kernel does (one
 * more reference to the same data, a new tensor object, kept) straight through the engine, without
 * the kernel dispatch and the extra tape node. The saved tensors hold the same data either way, so
 * gradients are the same bits.
 *
 * The extra tape node of `clone` would only matter for a gradient taken through a gradient
 * function's saved tensors (tfjs's higher-order gradients), which mmesid does not use. Backends
 * without reference counting (no `incRef`) and string tensors keep the clone.
 */
interface EngineInternals {
  state: { tensorInfo: WeakMap<object, { backend: { incRef?: (dataId: object) => void } }> };
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend: unknown): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
  clone(t: tf.Tensor): tf.Tensor;
}

let original: EngineInternals['saveTensorsForBackwardMode'] | null = null;

function saveShared(this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
  return tensors.map((t) => {
    const backend = this.state.tensorInfo.get(t.dataId)?.backend;
    if (!backend?.incRef || t.dtype === 'string') return this.keep(this.clone(t));
    backend.incRef(t.dataId);
    return this.keep(
      this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend),
    );
  });
}

/** Installs the kernel-free save on tfjs's engine (once); false when the engine does not have the expected shape. */
export function installSharedTapeSave(): boolean {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.saveTensorsForBackwardMode === saveShared) return true;
  if (
    typeof engine.saveTensorsForBackwardMode !== 'function' ||
    typeof engine.makeTensorFromTensorInfo !== 'function' ||
    typeof engine.state?.tensorInfo?.get !== 'function'
  )
    return false;
  original = engine.saveTensorsForBackwardMode;
  engine.saveTensorsForBackwardMode = saveShared;
  return true;
}

/** Puts tfjs's cloning save back (for measurements that compare the two). */
export function uninstallSharedTapeSave(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (original && engine.saveTensorsForBackwardMode === saveShared)
    engine.saveTensorsForBackwardMode = original;
}
