import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { gelu, linear, maxAbsDiff, setHandWeights, softmax } from './__fixtures__/reference.js';
import { FrequencyFusion } from './frequency-fusion.js';

// The frequency-aware fusion weights from hand-set MLP weights, against the authors' definition
// evaluated in plain JS: w_i = softmax(M2 GELU(M0 (H2 GELU(H0 f_i + h0) + h2)) + m2) / temperature).

const FEATURE = Float32Array.from([0, 0.5, 0.25, 0.5, 1, 0, 0.8]); // repeats share weights
const OPTS = { terms: 4, temperature: 0.6, hidden: 3, metaDim: 2, metaHidden: 3 };

describeBackends('FrequencyFusion from hand-set weights', ({ tol }) => {
  const eps = Math.max(1e-5, tol);
  function expected(w: ReturnType<typeof setHandWeights>, f: number, temperature: number): number[] {
    const g = (k: string) => w.get(k)!.data;
    const h1 = gelu(linear([f], g('mlp_head.0.weight'), OPTS.hidden, g('mlp_head.0.bias')));
    const meta = linear(h1, g('mlp_head.2.weight'), OPTS.metaDim, g('mlp_head.2.bias'));
    const h2 = gelu(linear(meta, g('mlp_meta_embedding.0.weight'), OPTS.metaHidden));
    const logits = linear(h2, g('mlp_meta_embedding.2.weight'), OPTS.terms, g('mlp_meta_embedding.2.bias'));
    return softmax(logits.map((v) => v / temperature));
  }

  it('weights per item (and per term column) equal the closed form, at two temperatures', async () => {
    const fusion = new FrequencyFusion({ ...OPTS, feature: FEATURE, skipInit: true });
    try {
      const w = setHandWeights(fusion, tf);
      expect([...w.keys()].sort()).toEqual([
        'mlp_head.0.bias',
        'mlp_head.0.weight',
        'mlp_head.2.bias',
        'mlp_head.2.weight',
        'mlp_meta_embedding.0.weight', // no bias, as in the authors' code
        'mlp_meta_embedding.2.bias',
        'mlp_meta_embedding.2.weight',
      ]);
      for (const temperature of [0.6, 2]) {
        fusion.temperature = temperature;
        const got = fusion.weights();
        const want = Array.from(FEATURE).flatMap((f) => expected(w, f, temperature));
        expect(got.shape).toEqual([FEATURE.length, OPTS.terms]);
        expect(maxAbsDiff(await got.data(), want)).toBeLessThan(eps);
        got.dispose();
      }
      // The weights are not uniform here, so a swap of two term columns would be caught above.
      const w0 = expected(w, 0.5, 0.6);
      expect(Math.max(...w0) - Math.min(...w0)).toBeGreaterThan(0.05);
      const logits = fusion.logits();
      const f = fusion.feature();
      expect(Array.from(await f.data())).toEqual(Array.from(FEATURE));
      expect(logits.shape).toEqual([FEATURE.length, OPTS.terms]);
      tf.dispose([logits, f]);
    } finally {
      fusion.dispose();
    }
  });
});
