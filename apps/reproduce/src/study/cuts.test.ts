import { describe, expect, it } from 'vitest';
import { collaborativeTableLabel } from '../options.js';
import { STUDY_VARIANTS } from '../presets.js';
import { variantOptionName } from '../variant-option.js';
import { STUDY_GENERATIVE, studyCuts } from './cuts.js';

const every = [...STUDY_VARIANTS.map(variantOptionName), ...STUDY_GENERATIVE];
const full = { finetuneValidation: true, rqvaeExtras: true };

describe('studyCuts', () => {
  it("is empty for the issue's study: both datasets, 3 seeds, every method, the preset budgets", () => {
    for (const dataset of ['beauty', 'toys'])
      expect(
        studyCuts({
          dataset,
          datasets: ['beauty', 'toys'],
          seeds: [1, 2, 3],
          variants: every,
          preset: 'tiny',
          budget: full,
          d: 64,
        }),
      ).toEqual([]);
  });

  it('names every cut of a real-data subset, with the preset value beside ours', () => {
    const cuts = studyCuts({
      dataset: 'beauty',
      datasets: ['beauty'],
      seeds: [1, 2, 3],
      variants: ['SASRec', 'E4SRec', 'MME-SID'],
      preset: 'tiny',
      budget: {
        sasrecEpochs: 4,
        rqvaeEpochs: 2,
        finetuneUsers: 250,
        finetuneValidation: false,
        rqvaeExtras: false,
      },
      d: 64,
    });
    expect(cuts[0]).toBe('dataset not run in this study: toys');
    // 13 fusion rows (SASRec + 12 variants) + 3 generative; SASRec, E4SRec, MME-SID ran.
    expect(cuts[1]).toMatch(/^13 of the 16 methods besides popularity not run: ME, Concat, /);
    expect(cuts[1]).toContain('w/o-Fusion');
    expect(cuts[1]).not.toMatch(/E4SRec|MME-SID,|SASRec/);
    expect(cuts).toContain(
      'SASRec (the SASRec row): at most 4 epochs instead of 100 (validation early stopping, patience 5, best epoch kept, as in the preset)',
    );
    expect(cuts).toContain('MM-RQ-VAE: 2 epochs instead of 12 (after the same k-means initialisation)');
    expect(cuts).toContain(
      'fine-tuning on the sequences of 250 users (seeded, every position) instead of 3000',
    );
    expect(cuts.find((c) => c.startsWith('fine-tuning without validation'))).toMatch(
      /a fixed 4 epochs .* \(2 evaluations per epoch on 1000 validation users\)/,
    );
    expect(cuts.find((c) => c.startsWith('no MSE'))).toMatch(/MMD-vs-MSE tau claim is not testable/);
    expect(cuts).toHaveLength(7);
  });

  it('does not list the MSE twin as cut when SE-SID-MSE ran (its runs train the twin and RQ-KMeans)', () => {
    const cuts = (variants: string[]) =>
      studyCuts({
        dataset: 'beauty',
        datasets: ['beauty', 'toys'],
        seeds: [1, 2, 3],
        variants,
        preset: 'tiny',
        budget: { finetuneValidation: true, rqvaeExtras: false },
        d: 64,
      }).filter((c) => c.startsWith('no MSE'));
    expect(cuts(['SASRec', 'MME-SID'])).toHaveLength(1);
    expect(cuts(['SASRec', 'MME-SID', 'SE-SID-MSE'])).toEqual([]);
  });

  it("uses the dataset's own preset (Toys fine-tunes 3 epochs) and counts seeds and dropped extras", () => {
    const cuts = studyCuts({
      dataset: 'toys',
      datasets: ['toys'],
      seeds: [1],
      variants: ['w/o-Fusion', ...every.filter((v) => v !== 'w/o-Fusion')],
      preset: 'tiny',
      budget: { finetuneValidation: false, rqvaeExtras: true, finetuneEpochs: 1 },
      d: 64,
    });
    expect(cuts).toEqual([
      'dataset not run in this study: beauty',
      '1 seed instead of 3',
      'fine-tuning: 1 epoch instead of 3',
      expect.stringMatching(/^fine-tuning without validation early stopping: a fixed 1 epoch \(/),
    ]);
  });

  it("names MOTOR's budget against its --bench preset (30 epochs) only when MOTOR runs", () => {
    const cuts = (variants: string[], motorEpochs: number, sasrecEpochs?: number) =>
      studyCuts({
        dataset: 'beauty',
        datasets: ['beauty', 'toys'],
        seeds: [1, 2, 3],
        variants,
        preset: 'tiny',
        budget: {
          finetuneValidation: true,
          rqvaeExtras: true,
          motorEpochs,
          ...(sasrecEpochs ? { sasrecEpochs } : {}),
        },
        d: 64,
      }).filter((c) => c.startsWith('MOTOR'));
    expect(cuts(every, 4, 4)).toEqual([
      "MOTOR: 4 epochs of its SASRec instead of 30 (no early stopping), the SASRec row's budget",
    ]);
    expect(cuts(every, 4)).toEqual(['MOTOR: 4 epochs of its SASRec instead of 30 (no early stopping)']);
    expect(cuts(every, 30)).toEqual([]);
    expect(
      cuts(
        every.filter((v) => v !== 'MOTOR'),
        4,
      ),
    ).toEqual([]);
  });
});

describe('collaborativeTableLabel', () => {
  it("never calls Toys' E4SRec table the MME-SID authors'", () => {
    expect(collaborativeTableLabel('beauty')).toMatch(/MME-SID authors'/);
    expect(collaborativeTableLabel('toys')).toMatch(/^E4SRec's/);
    expect(collaborativeTableLabel('toys')).not.toMatch(/MME-SID authors'/);
    expect(collaborativeTableLabel('custom')).toMatch(/shipped with the dataset folder/);
  });
});
