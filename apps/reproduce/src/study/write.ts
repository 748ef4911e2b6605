import { resolve } from 'node:path';
import { writeFileAtomic } from '../cache.js';
import { barChart, lineChart } from '../report/svg.js';
import {
  type Cell,
  type Claim,
  KS,
  numericalRank,
  RANK_TOLERANCE,
  STUDY_METRICS,
  type StudyResult,
} from './aggregate.js';
import { describeInvocations, type Invocation } from './invocations.js';

const fmt = (c: Cell | undefined) =>
  !c || !Number.isFinite(c.mean) ? '–' : `${c.mean.toFixed(4)} ± ${c.std.toFixed(4)}`;

/**
 * Writes `study-<dataset>.md`, `.json` and the figures (`-ndcg.svg`: Fig. 3a/4a/5 analogues on the seed
 * means; `-spectra.svg`: Fig. 3b's analogue from seed 0) into `dir`. Returns the report path.
 */
export function writeStudy(
  dir: string,
  s: StudyResult,
  claims: Claim[],
  meta: {
    paper: Record<string, Record<string, number>>;
    wallSeconds: number;
    command: string;
    notes: string[];
    collabWidth: number;
    /** File name stem after `study-` (default the dataset's name; `--tag` appends to it). */
    name?: string;
    /** The LLM and its width d, recorded in the JSON. */
    llm?: { name: string; d: number };
    /** This invocation's seconds, when the study ran as several (wallSeconds then counts from startedAt). */
    invocationSeconds?: number;
    /** Every invocation on this `--out` that made the study, this one last (`earlierInvocations`). */
    invocations?: Invocation[];
    /** The `--out` (absolute) the runs live in. */
    out?: string;
    startedAt?: string;
    machine?: {
      cores: number;
      cpu: string;
      loadAverage: { start: number[]; end: number[] };
      nativeBlas: boolean;
    };
    /** Per seed, the seconds of each stage (from the runs' results.json). */
    stageSeconds?: Record<string, number>[];
    /** What this run leaves out of the issue's study (`studyCuts`), one line each. */
    cuts?: string[];
  },
): string {
  const stem = `study-${meta.name ?? s.dataset}`;
  const base = resolve(dir, stem);
  const methods = Object.keys(s.cells);
  const L: string[] = [];
  L.push(`# MME-SID study: ${s.dataset}, seeds ${s.seeds.join(', ')}`, '');
  const m = meta.machine;
  const la = (x: number[]) => x.map((v) => v.toFixed(1)).join(' / ');
  const inv = meta.invocations ?? [];
  const summed = inv.length > 1 && Math.abs(inv.reduce((a, v) => a + v.seconds, 0) - meta.wallSeconds) < 1;
  const wall = summed
    ? `Wall time ${(meta.wallSeconds / 60).toFixed(1)} min, the sum of ${inv.length} invocations on the same --out (each reusing the stages the earlier ones finished: ${describeInvocations(inv)}),`
    : `Wall time ${(meta.wallSeconds / 60).toFixed(1)} min${meta.startedAt ? ` from ${meta.startedAt}` : ''}${
        meta.invocationSeconds !== undefined && Math.abs(meta.invocationSeconds - meta.wallSeconds) > 60
          ? ` (the last invocation ${(meta.invocationSeconds / 60).toFixed(1)} min; earlier ones ran the stages it reused)`
          : ''
      }`;
  L.push(
    `${wall}${m ? ` on ${m.cores} cores (${m.cpu}) shared with other jobs, load average (1/5/15 min) ${la(m.loadAverage.start)} at the start of the last invocation, ${la(m.loadAverage.end)} at the end${m.nativeBlas ? '; matmuls through native OpenBLAS (MMESID_NATIVE_BLAS=1)' : ''}` : ' on this machine'}. Command: \`${meta.command}\`.`,
    '',
  );
  if (meta.stageSeconds?.length) {
    const total = meta.stageSeconds.reduce(
      (a, r) => a + Object.entries(r).reduce((b, [k, v]) => (k === 'seed' ? b : b + v), 0),
      0,
    );
    L.push(
      `Stage time summed over the seeds: ${(total / 60).toFixed(1)} min (per seed and stage in the JSON).`,
      '',
    );
  }
  if (meta.cuts) {
    L.push("## What was cut compared with the issue's study", '');
    if (!meta.cuts.length) L.push('Nothing: every dataset, method and seed at the preset budgets.');
    for (const c of meta.cuts) L.push(`- ${c}`);
    L.push('', '## Notes', '');
  }
  for (const n of meta.notes) L.push(`- ${n}`);
  L.push('', '## Test results (mean ± std over seeds; * = MME-SID above it with paired t-test p < 0.05)', '');
  L.push(
    `| method | ${STUDY_METRICS.join(' | ')} | retrieval | ms/user |`,
    `|---|${STUDY_METRICS.map(() => '---:').join('|')}|---|---:|`,
  );
  const retrieval = s.retrieval ?? {};
  for (const m of methods) {
    const r = retrieval[m];
    const how = !r
      ? '–'
      : `${r.kind === 'beam search' ? `beam search (${r.beamWidth ?? '?'})` : r.kind}, ${[...new Set(r.users)].join('/')} users`;
    L.push(
      `| ${m} | ${STUDY_METRICS.map((k) => {
        const t = s.tTests[m]?.[k];
        return `${fmt(s.cells[m]![k])}${t && t.p < 0.05 && t.meanDiff > 0 ? ' *' : ''}`;
      }).join(
        ' | ',
      )} | ${how} | ${r && Number.isFinite(r.msPerUser.mean) ? r.msPerUser.mean.toFixed(r.msPerUser.mean < 1 ? 2 : 1) : '–'} |`,
    );
  }
  if (Object.values(retrieval).some((r) => r.kind === 'beam search'))
    L.push(
      '',
      "ms/user: wall time per test user of the ranking: scoring every item (full ranking) or trie-constrained beam search decoding (the generative baselines; metrics exact only up to @beam width, history hidden as in full ranking). The paper's efficiency argument (Sec. 4.4). Methods evaluated on a sample of test users say so in the retrieval column; their rows are not on the same users as the others: compare them in the next table.",
    );
  else if (Object.keys(retrieval).length)
    L.push(
      '',
      "ms/user: wall time per test user of the full-ranking evaluation (scoring every item, masking the history, ranking the target), the paper's efficiency argument (Sec. 4.4). The LLM variants are timed inside their fine-tuning stage, with the evaluator of the code that ran the stage: `model.score` in batches of 16 users before issue 18's frozen scorer, `evaluateMmeSid`'s frozen scorer in length-sorted batches of at most 64 users since (about 4 to 7 times less time per user), so a row cached from before it is that much slower; SASRec and popularity by the ranking-timing stage, which reloads the sasrec stage's model and evaluates it again (batches of 512, the same metrics). Each seed ran on a machine shared with other jobs: compare within a seed's load, not across studies.",
    );
  if (s.sample && s.sampleCells) {
    L.push(
      '',
      `### The same table on the ${s.sample.users} of ${s.sample.of} test users that ${s.sample.methods.join(', ')} decode`,
      '',
      "Every method on the same users: the sampled methods' rows as above, every full-ranking method's per-user ranks restricted to the sample (– : that run saved no per-user ranks). The t-tests of MME-SID against the sampled methods pair these figures (over the seeds).",
      '',
      `| method | ${STUDY_METRICS.join(' | ')} |`,
      `|---|${STUDY_METRICS.map(() => '---:').join('|')}|`,
    );
    for (const [m, cs] of Object.entries(s.sampleCells))
      L.push(`| ${m} | ${STUDY_METRICS.map((k) => fmt(cs[k])).join(' | ')} |`);
  }
  if (s.ranksBackfill) {
    L.push(
      '',
      '### Per-user ranks evaluated again (stages that finished before ranks were saved)',
      '',
      "These methods' stages saved no per-user ranks; a `ranks-*` stage reloaded each one's saved model and evaluated every test user again (fine-tuned variants: today's frozen-scorer `evaluateMmeSid`; SASRec and popularity: as the sasrec stage did), and the table above uses those ranks. The tables' all-user figures stay the stored ones. The check, over all test users: users with the target in the top k as stored (HR@k x users) and from the new ranks, and the largest |difference| of any stored metric (HR, nDCG, MRR, precision, recall, MAP @5/10/20); they differ only where the two evaluations break float32 ties differently.",
      '',
      '| method | seed | users | HR@5 hits stored / new | HR@10 | HR@20 | max abs. difference | nDCG@20 difference | mean rank difference |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    const signed = (x: number | undefined, digits: number) =>
      x === undefined || !Number.isFinite(x) ? '–' : `${x >= 0 ? '+' : ''}${x.toExponential(digits)}`;
    for (const [m, per] of Object.entries(s.ranksBackfill))
      for (const c of per)
        L.push(
          `| ${m} | ${c.seed} | ${c.users} | ${['@5', '@10', '@20'].map((k) => (c.hits[k] ? `${c.hits[k]!.stored} / ${c.hits[k]!.recomputed}` : '–')).join(' | ')} | ${c.maxAbsDelta.toExponential(2)} | ${signed(c.delta['NDCG@20'], 2)} | ${signed(c.delta.meanRank, 2)} |`,
        );
  }
  L.push('', "## The paper's Table 3 (Llama3-8B-instruct)", '');
  const paperRows = Object.keys(meta.paper);
  if (!paperRows.length) L.push('The paper has no figures for this dataset.');
  else {
    L.push(`| method | ${STUDY_METRICS.join(' | ')} |`, `|---|${STUDY_METRICS.map(() => '---:').join('|')}|`);
    for (const m of paperRows)
      L.push(`| ${m} | ${STUDY_METRICS.map((k) => meta.paper[m]?.[k]?.toFixed(4) ?? '–').join(' | ')} |`);
  }
  L.push('', '## Paired t-tests of MME-SID against each method (two-sided p; mean difference)', '');
  L.push(`| method | ${STUDY_METRICS.join(' | ')} |`, `|---|${STUDY_METRICS.map(() => '---:').join('|')}|`);
  for (const [m, ts] of Object.entries(s.tTests))
    L.push(
      `| ${m} | ${STUDY_METRICS.map((k) => (ts[k] ? `p ${Number.isFinite(ts[k]!.p) ? ts[k]!.p.toFixed(3) : 'n/a'} (${ts[k]!.meanDiff >= 0 ? '+' : ''}${ts[k]!.meanDiff.toFixed(4)})` : '–')).join(' | ')} |`,
    );
  L.push('', "## Forgetting: Kendall's tau of the distance order (mean ± std)", '');
  L.push(
    'tau-a = (C - D) / #pairs, the paper\'s formula; tau-b corrects for ties. Pairs of the test split: "last" = (last history item, target), "all" = every (history item, target).',
    '',
    '| where | pairs | tau-a before | tau-b before | tau-a after | tau-b after |',
    '|---|---|---:|---:|---:|---:|',
  );
  for (const [label, c] of Object.entries(s.tokenizerTau))
    L.push(`| ${label}: quantised vs original (collaborative) | last | – | ${fmt(c)} | – | – |`);
  for (const [v, rs] of Object.entries(s.tau))
    for (const [reading, r] of Object.entries(rs))
      L.push(
        `| ${v}: collaborative SID embeddings | ${reading} (${r.pairs}) | ${fmt(r.before.tauA)} | ${fmt(r.before.tauB)} | ${fmt(r.after.tauA)} | ${fmt(r.after.tauB)} |`,
      );
  L.push(
    '',
    'Paper (Beauty): 0.4436 (MMD) vs 0.3714 (MSE) after the MM-RQ-VAE; after fine-tuning 0.2727 (codebook init) vs 0.0508 (random init).',
  );
  L.push('', "## The paper's claims", '', '| claim | source | status | evidence |', '|---|---|---|---|');
  for (const c of claims) L.push(`| ${c.claim} | ${c.source} | **${c.status}** | ${c.evidence} |`);
  // Figures.
  writeFileAtomic(
    `${base}-ndcg.svg`,
    barChart(
      methods,
      KS.map((k) => ({ name: `nDCG@${k}`, values: methods.map((m) => s.cells[m]![`NDCG@${k}`]!.mean) })),
      { title: `nDCG on ${s.dataset}, mean of ${s.seeds.length} seeds (cf. Fig. 3a, 4a, 5)`, yLabel: 'nDCG' },
    ),
  );
  L.push('', '## Figures', '', `![nDCG](${stem}-ndcg.svg)`);
  const spectra = Object.entries(s.spectra).map(([name, values]) => ({ name, values }));
  if (spectra.length) {
    writeFileAtomic(
      `${base}-spectra.svg`,
      lineChart(spectra, {
        title: `Item-token singular values (seed ${s.seeds[0]}), collaborative width ${meta.collabWidth}${meta.llm ? `, token width d = ${meta.llm.d}` : ''} (cf. Fig. 3b)`,
        xLabel: 'index',
        yLabel: 'sigma_i / sigma_1',
        logY: true,
      }),
    );
    L.push('', `![spectra](${stem}-spectra.svg)`);
    // The same curves as numbers: sigma_i / sigma_1 where the ceilings of a w-wide table fall.
    const w = meta.collabWidth;
    const width = spectra[0]!.values.length;
    const at = [...new Set([2, 8, w + 1, w + 2, 2 * w + 1, 2 * w + 2, width / 2, width])]
      .filter((i) => Number.isInteger(i) && i >= 1 && i <= width)
      .sort((a, b) => a - b);
    L.push(
      '',
      `Item-token singular values sigma_i / sigma_1 (seed ${s.seeds[0]}; collaborative width w = ${w}, token width ${width}):`,
      '',
      `| method | ${at.map((i) => `σ${i}`).join(' | ')} | rank (σi/σ1 > ${RANK_TOLERANCE.toExponential(0)}) |`,
      `|---|${at.map(() => '---:').join('|')}|---:|`,
      ...spectra.map(
        (c) =>
          `| ${c.name} | ${at.map((i) => (c.values[i - 1] ?? Number.NaN).toExponential(2)).join(' | ')} | ${numericalRank(c.values)} |`,
      ),
    );
  }
  const path = `${base}.md`;
  writeFileAtomic(path, `${L.join('\n')}\n`);
  writeFileAtomic(
    `${base}.json`,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        command: meta.command,
        wallSeconds: meta.wallSeconds,
        ...(meta.startedAt ? { startedAt: meta.startedAt } : {}),
        ...(meta.invocationSeconds !== undefined ? { invocationSeconds: meta.invocationSeconds } : {}),
        ...(meta.invocations?.length ? { invocations: meta.invocations } : {}),
        ...(meta.out ? { out: meta.out } : {}),
        ...(meta.machine ? { machine: meta.machine } : {}),
        ...(meta.stageSeconds ? { stageSeconds: meta.stageSeconds } : {}),
        ...(meta.llm ? { llm: meta.llm, collabWidth: meta.collabWidth } : {}),
        ...(meta.cuts ? { cuts: meta.cuts } : {}),
        notes: meta.notes,
        study: s,
        claims,
        paper: meta.paper,
      },
      null,
      2,
    )}\n`,
  );
  return path;
}
