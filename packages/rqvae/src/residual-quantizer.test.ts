import { Rng, tf } from '@mmesid/tensor';
import { describeBackends, maxAbsDiff } from '@mmesid/test-utils';
import { expect, it } from 'vitest';
import { MMRQVAE } from './mm-rqvae.js';
import { ResidualQuantizer } from './residual-quantizer.js';

/** Level 0 codes far apart, level 1 codes small, so a sum e0[a] + e1[b] is nearest to (a, b) level by level. */
const L0 = [
  [10, 0, 0],
  [0, 10, 0],
  [0, 0, 10],
  [-10, 0, 0],
];
const L1 = [
  [0.5, 0, 0],
  [0, 0.5, 0],
  [0, 0, 0.5],
  [0, 0, 0],
];

function setCodebooks(rq: ResidualQuantizer): void {
  const a = tf.tensor2d(L0);
  const b = tf.tensor2d(L1);
  rq.loadStateDict({ 'vq_layers.0.embedding.weight': a, 'vq_layers.1.embedding.weight': b });
  tf.dispose([a, b]);
}

describeBackends('ResidualQuantizer', ({ tol }) => {
  it('quantises a point equal to a code to that code with zero residual and zero loss', async () => {
    const rq = new ResidualQuantizer({ levels: 2, codebookSize: 4, eDim: 3 });
    setCodebooks(rq);
    // Row 0 is level-0 code 2 exactly (level 1 then takes the zero code 3); row 1 is e0[1] + e1[0].
    const z = tf.tensor2d([L0[2]!, [0.5, 10, 0]]);
    const out = rq.forward(z, { beta: 0.25 });
    expect(Array.from(await out.codes.data())).toEqual([2, 3, 1, 0]);
    const residual = tf.sub(z, out.codeSum);
    expect(maxAbsDiff(await residual.data(), new Float32Array(6))).toBeLessThan(tol);
    expect(maxAbsDiff(await out.quantized.data(), await z.data())).toBeLessThan(tol);
    expect(Array.from(await rq.assign(z))).toEqual([2, 3, 1, 0]);
    // Row 0 alone leaves nothing to commit to: the codebook and commitment losses are 0.
    const z0 = tf.tensor2d([L0[2]!]);
    const out0 = rq.forward(z0, { beta: 0.25 });
    expect((await out0.loss.data())[0]).toBeLessThan(tol);
    tf.dispose([z0, out0.codes, out0.codeSum, out0.quantized, out0.loss]);
    const q = rq.lookup(out.codes);
    expect(maxAbsDiff(await q.data(), await z.data())).toBeLessThan(tol);
    tf.dispose([z, out.codes, out.codeSum, out.quantized, out.loss, residual, q]);
    rq.dispose();
  });

  it('computes the codebook and commitment loss of Eq. 5 (mean over levels)', async () => {
    const rq = new ResidualQuantizer({ levels: 2, codebookSize: 4, eDim: 3 });
    setCodebooks(rq);
    const z = tf.tensor2d([[9, 1, 0]]); // level 0: code 0, residual (-1, 1, 0); level 1: code 1, residual (-1, 0.5, 0)
    const out = rq.forward(z, { beta: 0.25 });
    // Level l: (1 + beta) * mean(r_{l+1}^2) over 3 elements.
    const l0 = (1.25 * (1 + 1)) / 3;
    const l1 = (1.25 * (1 + 0.25)) / 3;
    expect((await out.loss.data())[0]).toBeCloseTo((l0 + l1) / 2, 4);
    const sum = rq.forward(z, { beta: 0.25, reduction: 'sum' });
    expect((await sum.loss.data())[0]).toBeCloseTo(l0 + l1, 4);
    tf.dispose([
      z,
      out.codes,
      out.codeSum,
      out.quantized,
      out.loss,
      sum.codes,
      sum.codeSum,
      sum.quantized,
      sum.loss,
    ]);
    rq.dispose();
  });

  it('sends the commitment gradient of every level to z (Eq. 5) or of the first only (detachResidual)', async () => {
    const rq = new ResidualQuantizer({ levels: 2, codebookSize: 4, eDim: 3 });
    setCodebooks(rq);
    const z0 = tf.tensor2d([[9, 1, 0]]); // r1 = (-1, 1, 0), r2 = (-1, 0.5, 0) as above
    const z = tf.variable(z0);
    z0.dispose();
    const grad = async (detachResidual: boolean) => {
      const { value, grads } = tf.variableGrads(
        () => rq.forward(z as unknown as tf.Tensor2D, { beta: 0.25, detachResidual }).loss,
        [z],
      );
      const g = Array.from(await grads[z.name]!.data());
      tf.dispose([value, ...Object.values(grads)]);
      return g;
    };
    // Mean over 2 levels of beta * mean over 3 elements of r^2: d/dz = beta / 3 * (r1 [+ r2]).
    const k = 0.25 / 3;
    expect(maxAbsDiff(await grad(false), [-2 * k, 1.5 * k, 0])).toBeLessThan(tol);
    expect(maxAbsDiff(await grad(true), [-1 * k, 1 * k, 0])).toBeLessThan(tol);
    z.dispose();
    rq.dispose();
  });

  it('passes the straight-through gradient from the decoder to every encoder weight', async () => {
    // No quantisation loss: the only path from the loss to the encoder is x + sg(q - x).
    const model = new MMRQVAE({
      modalities: [{ name: 'collaborative', inputDim: 6 }],
      eDim: 4,
      hiddenLayers: [8],
      levels: 2,
      codebookSize: 4,
      reconstruction: 'mse',
      quantizationWeight: 0,
      kmeansInit: false,
      sinkhornEpsilons: [],
    });
    const x = tf.tensor2d(new Rng(3).fillNormal(new Float32Array(10 * 6)), [10, 6]);
    const params = model.trainableParameters();
    const { value, grads } = tf.variableGrads(
      () => model.losses({ collaborative: x }).total,
      [...params.values()],
    );
    const byName = new Map([...params].map(([n, v]) => [n, grads[v.name]]));
    const encoderWeights = [...params.keys()].filter((n) => n.startsWith('collaborative.encoder.'));
    expect(encoderWeights.length).toBe(4);
    for (const n of encoderWeights) {
      const g = byName.get(n);
      expect(g, n).toBeDefined();
      const normT = tf.norm(g!);
      const norm = (await normT.data())[0]!;
      normT.dispose();
      expect(norm, `gradient norm of ${n}`).toBeGreaterThan(1e-6);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
    model.dispose();
  });
});
