import { startBackend } from '../src/backends.js';
import { tf } from '@mmesid/tensor';
self.onmessage = async () => {
  try {
    const c = await startBackend();
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const b = tf.matMul(a, a);
    const d = await b.data();
    self.postMessage({ c, d: Array.from(d) });
  } catch (e) { self.postMessage({ err: String(e), stack: (e as Error).stack }); }
};
