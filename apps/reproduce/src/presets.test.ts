import { describe, expect, it } from 'vitest';
import { paperWarmupFraction, preset, presetProblems, TABLE4 } from './presets.js';

// The presets against the paper's Table 4 (../shared/paper/FIGURES.md).

describe('presets', () => {
  it('paper = Table 4 per dataset, MM-RQ-VAE at eDim = d with three d-wide layers', () => {
    const want = {
      beauty: { epochs: 4, lr: 3e-4, warmup: 100, codes: 256 }, // 4 epochs: the released checkpoint
      toys: { epochs: 3, lr: 2e-4, warmup: 100, codes: 256 },
      sports: { epochs: 2, lr: 2e-4, warmup: 200, codes: 300 },
    };
    for (const [dataset, w] of Object.entries(want)) {
      const p = preset('paper', { bench: false, seed: 1, dataset, d: 4096 });
      expect(p.finetune).toMatchObject({
        epochs: w.epochs,
        lr: w.lr,
        warmupSteps: w.warmup,
        effectiveBatch: 16,
      });
      expect(p.rqvae).toMatchObject({
        levels: 4,
        codebookSize: w.codes,
        eDim: 4096,
        hiddenLayers: [4096, 4096, 4096],
      });
      expect(presetProblems(p)).toEqual([]);
    }
    expect(preset('paper', { bench: false, seed: 1, dataset: 'beauty', d: 4096 }).notes.join(' ')).toMatch(
      /4 epochs.*released checkpoint/,
    );
  });

  it("tiny keeps the recipe's proportions: epochs, levels, codes on real data, the warm-up fraction, eDim = d", () => {
    for (const dataset of ['beauty', 'toys'] as const) {
      for (const bench of [false, true]) {
        const p = preset('tiny', { bench, seed: 1, dataset, d: 64 });
        const paper = preset('paper', { bench: false, seed: 1, dataset, d: 4096 });
        expect(p.finetune.epochs).toBe(paper.finetune.epochs);
        expect(p.finetune.effectiveBatch).toBe(16);
        expect(p.rqvae).toMatchObject({ levels: 4, codebookSize: TABLE4[dataset].codes, eDim: 64 });
        // The same fraction: 100 warm-up steps of 4 x 9,378 on Beauty.
        expect(
          p.finetune.warmupFraction! * paper.finetune.epochs * TABLE4[dataset].stepsPerEpoch,
        ).toBeCloseTo(TABLE4[dataset].warmup, 6);
        expect(presetProblems(p)).toEqual([]);
      }
    }
    expect(paperWarmupFraction('beauty')).toBeCloseTo(100 / 37512, 10);
  });

  it('the scaled presets fine-tune with validation early stopping; the paper preset trains fixed epochs as the authors', () => {
    for (const bench of [false, true]) {
      const p = preset('tiny', { bench, seed: 1, dataset: 'beauty', d: 64 });
      expect(p.finetune.validation).toEqual({ perEpoch: 2, patience: 3, maxUsers: 1000 });
      expect(p.notes.join('\n')).toMatch(/validation early stopping/);
    }
    expect(preset('paper', { bench: false, seed: 1, dataset: 'beauty', d: 4096 }).finetune.validation).toBe(
      undefined,
    );
    const p = preset('tiny', { bench: false, seed: 1, dataset: 'synthetic', d: 64 });
    const bad = { ...p, finetune: { ...p.finetune, validation: { perEpoch: 0, patience: 3 } } };
    expect(presetProblems(bad).join('\n')).toMatch(/finetune\.validation: perEpoch 0/);
  });

  it('no stage has a budget in seconds: time appears only as guards that fail a stage', () => {
    for (const name of ['tiny', 'paper'] as const)
      for (const bench of [false, true]) {
        const p = preset(name, { bench, seed: 1, dataset: 'beauty', d: 64 });
        expect(JSON.stringify(p)).not.toMatch(/maxMinutes|"maxSeconds":[1-9]/);
        expect(Object.keys(p.finetune)).not.toContain('maxSeconds');
        expect(p.guardMinutes.sasrec).toBeGreaterThan(0);
      }
  });

  it('an inconsistent preset is named, field by field, with the fix', () => {
    const p = preset('tiny', { bench: false, seed: 1, dataset: 'synthetic', d: 64 });
    const bad = { ...p, finetune: { ...p.finetune, microBatch: 5, warmupFraction: undefined } };
    const problems = presetProblems(bad);
    expect(problems.join('\n')).toMatch(/microBatch 5 does not divide effectiveBatch 16/);
    expect(problems.join('\n')).toMatch(/set warmupSteps \(paper\) or warmupFraction/);
  });
});
