import { readFileSync } from 'node:fs';
import { tf } from '@mmesid/tensor';
import { describeBackends } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { infoNce } from './infonce.js';

interface Case {
  a: number[][];
  b: number[][];
  temperature: number;
  loss: number;
}

// Values from __fixtures__/infonce.py (numpy, written from the definition).
const fixture = JSON.parse(readFileSync(new URL('./__fixtures__/infonce.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

describeBackends('infoNce against numpy', ({ tol }) => {
  it('matches the reference loss of each case (cosine / temperature, both directions)', async () => {
    for (const c of fixture.cases) {
      const v = tf.tidy(() => infoNce(tf.tensor2d(c.a), tf.tensor2d(c.b), c.temperature));
      const got = (await v.data())[0]!;
      v.dispose();
      expect(Math.abs(got - c.loss), `B=${c.a.length} t=${c.temperature}`).toBeLessThan(
        Math.max(1e-4, tol * 10) * (1 + c.loss),
      );
    }
  });
});
