// What a study run leaves out compared with the study of issue 13 (both datasets, SASRec, popularity,
// every variant of @mmesid/fusion and the semantic-ID-only baselines, three seeds, the tiny preset's
// `--bench` budgets on real data, fine-tuning trained to validation convergence within them).
import { preset, STUDY_VARIANTS } from '../presets.js';
import { motorEpochsPreset } from '../stages/generative.js';
import { needsMseTwin, variantOptionName } from '../variant-option.js';

/** The study's own method list (beside SASRec and the fusion variants). */
export const STUDY_GENERATIVE = ['TIGER-MM', 'MOTOR', 'LETTER'] as const;

const epochs = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;

/** The budget options a study passes through to every run (undefined: the preset's). */
export interface StudyBudget {
  sasrecEpochs?: number;
  rqvaeEpochs?: number;
  finetuneEpochs?: number;
  finetuneUsers?: number;
  motorEpochs?: number;
  maxTrainExamples?: number;
  finetuneValidation: boolean;
  rqvaeExtras: boolean;
}

/**
 * One line per cut, exact: datasets, seeds and methods not run, and each budget below the preset's
 * (the preset value beside ours). Empty when the run is the issue's study.
 *
 * @param variants the `--variants` names as given (option spelling, e.g. `w/o-Fusion`)
 */
export function studyCuts(opts: {
  dataset: string;
  datasets: readonly string[];
  seeds: readonly number[];
  variants: readonly string[];
  preset: 'tiny' | 'paper';
  budget: StudyBudget;
  d: number;
}): string[] {
  const out: string[] = [];
  const missingData = ['beauty', 'toys'].filter((d) => !opts.datasets.includes(d));
  if (missingData.length)
    out.push(`dataset${missingData.length > 1 ? 's' : ''} not run in this study: ${missingData.join(', ')}`);
  if (opts.seeds.length < 3)
    out.push(`${opts.seeds.length} seed${opts.seeds.length === 1 ? '' : 's'} instead of 3`);
  const all = [...STUDY_VARIANTS.map(variantOptionName), ...STUDY_GENERATIVE];
  const ran = new Set(opts.variants.map(variantOptionName));
  const dropped = all.filter((v) => !ran.has(v));
  if (dropped.length)
    out.push(
      `${dropped.length} of the ${all.length} methods besides popularity not run: ${dropped.join(', ')}`,
    );
  const real = opts.dataset !== 'synthetic';
  const p = preset(opts.preset, {
    bench: opts.preset === 'tiny' && real,
    seed: 1,
    dataset: opts.dataset,
    d: opts.d,
  });
  const b = opts.budget;
  if (b.sasrecEpochs !== undefined && b.sasrecEpochs < p.sasrec.epochs)
    out.push(
      `SASRec (the SASRec row): at most ${epochs(b.sasrecEpochs)} instead of ${p.sasrec.epochs} (validation early stopping${p.sasrec.patience ? `, patience ${p.sasrec.patience}` : ''}, best epoch kept, as in the preset)`,
    );
  if (b.rqvaeEpochs !== undefined && b.rqvaeEpochs < p.rqvae.maxEpochs)
    out.push(
      `MM-RQ-VAE: ${epochs(b.rqvaeEpochs)} instead of ${p.rqvae.maxEpochs} (after the same k-means initialisation)`,
    );
  // SE-SID-MSE needs the MSE twin: its runs train it (and RQ-KMeans) even with --no-rqvae-extras.
  if (!b.rqvaeExtras && !needsMseTwin(opts.variants))
    out.push('no MSE-reconstruction twin and no RQ-KMeans: the MMD-vs-MSE tau claim is not testable');
  const f = p.finetune;
  if (b.finetuneEpochs !== undefined && b.finetuneEpochs < f.epochs)
    out.push(`fine-tuning: ${epochs(b.finetuneEpochs)} instead of ${f.epochs}`);
  if (b.finetuneUsers !== undefined && (f.maxUsers === undefined || b.finetuneUsers < f.maxUsers))
    out.push(
      `fine-tuning on the sequences of ${b.finetuneUsers} users (seeded, every position) instead of ${f.maxUsers ?? 'all users'}`,
    );
  if (b.maxTrainExamples !== undefined)
    out.push(`fine-tuning: at most ${b.maxTrainExamples} pairs per epoch (seeded)`);
  if (!b.finetuneValidation && f.validation)
    out.push(
      `fine-tuning without validation early stopping: a fixed ${epochs(b.finetuneEpochs ?? f.epochs)} (as the authors train) instead of "trained to validation convergence" (${f.validation.perEpoch} evaluations per epoch on ${f.validation.maxUsers ?? 'all'} validation users)`,
    );
  const motorPreset = motorEpochsPreset({
    bench: opts.preset === 'tiny' && real,
    paper: opts.preset === 'paper',
  });
  if (ran.has('MOTOR') && b.motorEpochs !== undefined && b.motorEpochs < motorPreset)
    out.push(
      `MOTOR: ${epochs(b.motorEpochs)} of its SASRec instead of ${motorPreset} (no early stopping)${b.sasrecEpochs === b.motorEpochs ? ", the SASRec row's budget" : ''}`,
    );
  return out;
}
