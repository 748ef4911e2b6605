import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../cache.js';
import type { RanksBackfill } from '../stages/ranks.js';
import { barChart, lineChart } from './svg.js';

/** Kendall's tau of the distance order on one reading of the behavioural-target pairs. */
export interface TauReading {
  /** `last`: (last history item, target); `all`: every (history item, target). */
  reading: 'last' | 'all';
  pairs: number;
  before: { tauA: number; tauB: number };
  after: { tauA: number; tauB: number };
}

export interface VariantResult {
  variant: string;
  /** HR@k / NDCG@k ... as flattened by @mmesid/metrics (keys like "HR@10"). */
  metrics: Record<string, number>;
  mode?: string;
  /** The fusion package's sentence on what the training mode does (quoted once in the notes). */
  modeNote?: string;
  trainExamples?: number;
  trainSeconds?: number;
  /** Validation early stopping of fine-tuning, when the preset has it. */
  earlyStopping?: {
    metric: string;
    users: number;
    every: number;
    bestStep: number;
    best: number;
    stoppedAt: number;
    totalSteps: number;
    stoppedBy: string;
  };
  trainableParameters?: number;
  totalParameters?: number;
  /** Kendall tau-b before/after fine-tuning, (last history item, target) pairs. */
  tau?: { before: number; after: number };
  /** The same as tau-a (the paper's formula) and tau-b, on both readings of the behavioural-target pairs. */
  tauReadings?: TauReading[];
  spectra?: Record<string, number[]>;
  /**
   * How the test users were ranked and the wall time per user of it: full ranking scores every item
   * (scoring time); beam search decodes the top `beamWidth` (decoding time, paper Sec. 4.4).
   */
  retrieval?: { kind: 'full ranking' | 'beam search'; msPerUser: number; users: number; beamWidth?: number };
  /**
   * Set when this row was evaluated on a fixed seeded sample of the test users rather than all of
   * them (the semantic-ID baselines: `evalUserIndices(of, users)` of src/stages/generative.ts).
   */
  sample?: { users: number; of: number; seed: string };
  /**
   * This row's metrics on the sampled rows' users (its per-user ranks restricted to them), so that
   * every comparison with a sampled row is on the same users (report/same-users.ts).
   */
  onSample?: { users: number; of: number; metrics: Record<string, number> };
  /**
   * Set when this row's per-user ranks come from a backfill stage (src/stages/ranks.ts): its model
   * evaluated again because its stage finished before ranks were saved, with how the new ranks'
   * metrics compare with the stored ones (`metrics` stays the stored figures).
   */
  ranksBackfill?: RanksBackfill;
  /**
   * The semantic-ID baselines' tokenizers (src/stages/generative.ts): colliding items of each
   * modality's SIDs alone (TIGER-MM); LETTER's per-epoch loss terms and colliding items, the epoch
   * kept, and the colliding items before/after the Sinkhorn re-assignment.
   */
  tokenizer?: {
    colliding?: Record<string, number>;
    epochs?: Record<string, number>[];
    keptEpoch?: number;
    collidingBefore?: number;
    collidingAfter?: number;
    hidden?: number[];
  };
  note?: string;
}

export interface ReportInput {
  title: string;
  dataset: { name: string; users: number; items: number; interactions: number };
  settings: Record<string, string | number | boolean>;
  variants: VariantResult[];
  baselines: VariantResult[];
  rqvae?: Record<
    string,
    Record<
      string,
      {
        collisionRate: number;
        tauQuantized?: number;
        tauReconstructed?: number;
        perLevel?: { usage: number; perplexity: number }[];
      }
    >
  >;
  embeddings?: Record<string, string>;
  wallSeconds: number;
  /** Seconds each stage took when it ran (a cached stage keeps the figure of the run that made it). */
  stageSeconds?: Record<string, number>;
  notes: string[];
}

/** What the paper's row was trained with, for rows that are not LLM fine-tuning. */
const PAPER_SETUP: Record<string, string> = { SASRec: 'SASRec (no LLM)', Popularity: '–' };

const KS = [5, 10, 20];
const COLS = [...KS.map((k) => `HR@${k}`), ...KS.map((k) => `NDCG@${k}`)];

function paperFigures(): { table3?: Record<string, Record<string, Record<string, number>>> } {
  const p = resolve(import.meta.dirname ?? '.', '../paper-figures.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : {};
}

function metricOf(m: Record<string, number>, col: string): number | undefined {
  return m[col] ?? m[col.replace('NDCG', 'nDCG')];
}

/** Writes report.md, results.json and the SVG figures into `dir`. Returns the report path. */
export function writeReport(dir: string, input: ReportInput, datasetKey: string): string {
  const paper = paperFigures().table3?.[datasetKey] ?? {};
  const rows = [...input.baselines, ...input.variants];
  const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(4));
  const lines: string[] = [];
  lines.push(`# ${input.title}`, '');
  lines.push(
    `Dataset **${input.dataset.name}**: ${input.dataset.users} users, ${input.dataset.items} items, ${input.dataset.interactions} interactions. ` +
      `Wall time of this invocation ${(input.wallSeconds / 60).toFixed(1)} min.`,
    '',
  );
  if (input.stageSeconds && Object.keys(input.stageSeconds).length) {
    const parts = Object.entries(input.stageSeconds).map(([k, v]) => `${k} ${(v / 60).toFixed(1)}`);
    const total = Object.values(input.stageSeconds).reduce((a, b) => a + b, 0);
    lines.push(
      `Minutes per stage, as each ran (cached stages included): ${parts.join(', ')}; total ${(total / 60).toFixed(1)}.`,
      '',
    );
  }
  lines.push('| setting | value |', '|---|---|');
  for (const [k, v] of Object.entries(input.settings)) lines.push(`| ${k} | ${v} |`);
  lines.push('', '## Results (test split, full ranking, history excluded)', '');
  lines.push(`| model | ${COLS.join(' | ')} | training |`, `|---|${COLS.map(() => '---:').join('|')}|---|`);
  for (const r of rows) {
    const train = [
      r.mode,
      r.trainExamples !== undefined ? `${r.trainExamples} ex` : undefined,
      r.trainSeconds !== undefined ? `${r.trainSeconds.toFixed(0)} s` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `| ${r.variant} (ours) | ${COLS.map((c) => fmt(metricOf(r.metrics, c))).join(' | ')} | ${train} |`,
    );
    const p = paper[r.variant] ?? paper[r.variant.replace('w/o Fusion', 'w/o fusion')];
    if (p)
      lines.push(
        `| ${r.variant} (paper) | ${COLS.map((c) => fmt(p[c] ?? p[c.replace('NDCG', 'nDCG')])).join(' | ')} | ${PAPER_SETUP[r.variant] ?? 'Llama3-8B-instruct, LoRA'} |`,
      );
  }
  if (!Object.keys(paper).length)
    lines.push('', `The paper reports no figures for this dataset (${datasetKey}); only ours are shown.`);
  const sampled = rows.find((r) => r.sample)?.sample;
  if (sampled) {
    lines.push(
      '',
      `## Results on the same ${sampled.users} of ${sampled.of} test users`,
      '',
      `The semantic-ID baselines decode a fixed seeded sample of the test users (beam search is slow on a CPU); the table above gives each row on its own users. Here every row is on the sample: the full-ranking rows' per-user ranks restricted to it. Compare rows here, not across the two tables.`,
      '',
      `| model | ${COLS.join(' | ')} | ranking |`,
      `|---|${COLS.map(() => '---:').join('|')}|---|`,
    );
    for (const r of rows) {
      const m = r.sample ? r.metrics : r.onSample?.metrics;
      const how = r.sample
        ? `${r.retrieval?.kind === 'beam search' ? `beam search (${r.retrieval.beamWidth})` : (r.retrieval?.kind ?? '–')}, these users`
        : r.onSample
          ? `full ranking of all ${r.onSample.of} users, restricted`
          : 'no per-user ranks saved';
      lines.push(
        `| ${r.variant} | ${COLS.map((c) => fmt(m ? metricOf(m, c) : undefined)).join(' | ')} | ${how} |`,
      );
    }
  }
  const withTau = input.variants.filter((v) => v.tau);
  const stopped = input.variants.filter((v) => v.earlyStopping);
  if (stopped.length) {
    lines.push('', '## Fine-tuning: validation early stopping', '');
    lines.push(
      '| variant | metric | users | every (steps) | best | best at step | stopped at | of steps | by |',
    );
    lines.push('|---|---|---:|---:|---:|---:|---:|---:|---|');
    for (const v of stopped) {
      const e = v.earlyStopping!;
      lines.push(
        `| ${v.variant} | ${e.metric} | ${e.users} | ${e.every} | ${e.best.toFixed(4)} | ${e.bestStep} | ${e.stoppedAt} | ${e.totalSteps} | ${e.stoppedBy} |`,
      );
    }
  }
  if (withTau.length || input.rqvae) {
    lines.push('', '## Forgetting: Kendall tau of distance order', '');
    lines.push(
      'tau-a = (C - D) / #pairs is the paper\'s formula; tau-b corrects for ties. "last": (last history item, target) pairs of the test split; "all": every (history item, target).',
      '',
      '| where | pairs | tau-a | tau-b |',
      '|---|---|---:|---:|',
    );
    for (const [label, mods] of Object.entries(input.rqvae ?? {}))
      for (const [m, r] of Object.entries(mods))
        lines.push(`| ${label} / ${m}: quantized latent vs original | last | – | ${fmt(r.tauQuantized)} |`);
    for (const v of withTau) {
      const readings = v.tauReadings ?? [
        {
          reading: 'last' as const,
          pairs: 0,
          before: { tauA: Number.NaN, tauB: v.tau!.before },
          after: { tauA: Number.NaN, tauB: v.tau!.after },
        },
      ];
      for (const r of readings) {
        const n = r.pairs ? ` (${r.pairs})` : '';
        lines.push(
          `| ${v.variant}: collaborative SID embeddings before fine-tuning | ${r.reading}${n} | ${fmt(r.before.tauA)} | ${fmt(r.before.tauB)} |`,
        );
        lines.push(
          `| ${v.variant}: after fine-tuning | ${r.reading}${n} | ${fmt(r.after.tauA)} | ${fmt(r.after.tauB)} |`,
        );
      }
    }
    lines.push(
      '',
      'Paper (Beauty): 0.4436 (MM-RQ-VAE, MMD) vs 0.3714 (MSE); after fine-tuning 0.2727 with codebook init, 0.0508 with random init.',
    );
  }
  if (input.rqvae) {
    lines.push(
      '',
      '## Semantic IDs',
      '',
      '| tokenizer / modality | collision rate | usage per level | perplexity per level |',
      '|---|---:|---|---|',
    );
    for (const [label, mods] of Object.entries(input.rqvae))
      for (const [m, r] of Object.entries(mods))
        lines.push(
          `| ${label} / ${m} | ${fmt(r.collisionRate)} | ${(r.perLevel ?? []).map((l) => l.usage.toFixed(2)).join(', ')} | ${(r.perLevel ?? []).map((l) => l.perplexity.toFixed(1)).join(', ')} |`,
        );
  }
  if (input.embeddings) {
    lines.push('', '## Modality embeddings', '');
    for (const [k, v] of Object.entries(input.embeddings)) lines.push(`- **${k}**: ${v}`);
  }
  // Figures.
  const spectra: { name: string; values: number[] }[] = [];
  for (const v of input.variants)
    for (const [what, values] of Object.entries(v.spectra ?? {}))
      spectra.push({ name: `${v.variant}: ${what}`, values });
  if (spectra.length) {
    writeFileAtomic(
      resolve(dir, 'singular-values.svg'),
      lineChart(spectra, {
        title: 'Normalised singular values (log scale), cf. paper Fig. 3b',
        xLabel: 'index',
        yLabel: 'sigma_i / sigma_1',
        logY: true,
      }),
    );
    lines.push('', '## Embedding collapse', '', '![singular values](singular-values.svg)');
  }
  writeFileAtomic(
    resolve(dir, 'ndcg.svg'),
    barChart(
      rows.map((r) => r.variant),
      KS.map((k) => ({
        name: `nDCG@${k}`,
        values: rows.map((r) => metricOf(r.metrics, `NDCG@${k}`) ?? Number.NaN),
      })),
      { title: `nDCG on ${input.dataset.name} (ours)`, yLabel: 'nDCG' },
    ),
  );
  lines.push('', '## nDCG', '', '![nDCG](ndcg.svg)');
  const modeNotes = [...new Set(input.variants.map((v) => v.modeNote).filter((n): n is string => !!n))];
  const notes = [
    ...input.notes,
    ...modeNotes.map((n) => `Training mode: ${n}`),
    ...input.variants.filter((v) => v.note).map((v) => `${v.variant}: ${v.note}`),
  ];
  if (notes.length) lines.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  const md = `${lines.join('\n')}\n`;
  const path = resolve(dir, 'report.md');
  writeFileAtomic(path, md);
  writeFileAtomic(resolve(dir, 'results.json'), `${JSON.stringify({ ...input, paper }, null, 2)}\n`);
  return path;
}
