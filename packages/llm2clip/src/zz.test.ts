import { LayerNorm, tf, initBackend } from '@mmesid/tensor';
import { it } from 'vitest';
it('ln grad', async () => {
  for (const b of ['cpu', 'wasm'] as const) {
    await initBackend({ require: b, log: false });
    const ln = new LayerNorm(4);
    const v = tf.variable(tf.randomNormal([2, 4]));
    try { const { value } = tf.variableGrads(() => tf.sum(tf.square(ln.forward(v))) as tf.Scalar, [v]); console.log(b, 'ok', value.shape); } catch (e) { console.log(b, 'ERR', (e as Error).message); }
  }
});
