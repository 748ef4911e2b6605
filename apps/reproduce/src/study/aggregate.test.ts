import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VariantResult } from '../report/report.js';
import {
  aggregate,
  checkClaims,
  numericalRank,
  RANK_TOLERANCE,
  type SeedRun,
  spectrumDecay,
  tauStatus,
} from './aggregate.js';
import { pairedTTest } from './stats.js';
import { writeStudy } from './write.js';

/** The study's markdown report as writeStudy writes it into `dir` (claims at collaborative width 16). */
function studyMarkdown(dir: string, s: ReturnType<typeof aggregate>): string {
  const opts = { paper: {}, wallSeconds: 1, command: 't', notes: [], collabWidth: 16 };
  return readFileSync(writeStudy(dir, s, checkClaims(s, 16), opts), 'utf8');
}

const metrics = (base: number): Record<string, number> => ({
  'HR@5': base,
  'HR@10': base * 1.5,
  'HR@20': base * 2,
  'NDCG@5': base / 2,
  'NDCG@10': base * 0.6,
  'NDCG@20': base * 0.7,
});

/** Three seeds of a study where the paper's orderings hold except SE-SID-MMD < SE-SID-MSE. */
function runs(): SeedRun[] {
  const level: Record<string, number> = {
    SASRec: 0.03,
    E4SRec: 0.04,
    ME: 0.045,
    'SE-SID-MSE': 0.052,
    'SE-SID-MMD': 0.05,
    'SE-random': 0.02,
    'MME-random': 0.03,
    'w/o Fusion': 0.055,
    'MME-SID-random': 0.056,
    'MME-SID': 0.06,
  };
  return [1, 2, 3].map((seed) => {
    const jitter = (seed - 2) * 0.001;
    const variants: VariantResult[] = Object.entries(level)
      .filter(([v]) => v !== 'SASRec')
      .map(([variant, b]) => ({
        variant,
        metrics: metrics(b + (variant === 'MME-SID' ? jitter * 0.5 : jitter)),
        ...(variant.startsWith('MME-SID')
          ? {
              tauReadings: (['last', 'all'] as const).map((reading) => ({
                reading,
                pairs: 100,
                before: { tauA: 0.4, tauB: 0.41 },
                after: { tauA: variant === 'MME-SID' ? 0.27 + jitter : 0.05 + jitter, tauB: 0.3 },
              })),
            }
          : {}),
        spectra: {
          'item tokens': Array.from({ length: 64 }, (_, i) =>
            variant === 'E4SRec' && i > 16 ? 1e-7 : 1 / (1 + i),
          ),
        },
      }));
    return {
      seed,
      variants,
      baselines: [{ variant: 'SASRec', metrics: metrics(0.03 + jitter) }],
      rqvae: {
        'mm-rqvae-mmd': { collaborative: { tauQuantized: 0.44 + jitter } },
        'mm-rqvae-mse': { collaborative: { tauQuantized: 0.37 + jitter } },
      },
    };
  });
}

describe('tau claims over seeds', () => {
  // The MM-RQ-VAE's collaborative tau-b of the Beauty study (seeds 1-3), MMD and its MSE twin.
  const mmd = [0.29274171317450143, 0.331295567204306, 0.3183784167079082];
  const mse = [0.2749110252717729, 0.3249538905320729, 0.3057863446811867];
  // scipy.stats.ttest_rel(mmd, mse): t 3.6902347675242715, p 0.06622205100101898 (df 2).
  const SCIPY_P = 0.06622205100101898;

  it('MMD above MSE on the means with p >= 0.05 is held on the means only, with the p-value', () => {
    const s = aggregate(
      'beauty',
      runs().map((r, i) => ({
        ...r,
        rqvae: {
          'mm-rqvae-mmd': { collaborative: { tauQuantized: mmd[i]! } },
          'mm-rqvae-mse': { collaborative: { tauQuantized: mse[i]! } },
        },
      })),
    );
    const c = checkClaims(s, 16).find((x) => x.claim.includes('MMD-reconstruction'))!;
    expect(c.status).toBe('held on the means only');
    expect(c.evidence).toContain(`p ${SCIPY_P.toFixed(3)}`);
    expect(c.evidence).toContain('MMD 0.3141 +- 0.0196, MSE 0.3019 +- 0.0252');
  });

  it('tauStatus: significant, on the means only, not held', () => {
    expect(tauStatus(mmd, mse)).toEqual({
      status: 'held on the means only',
      evidence: `; paired t-test over the seeds p ${SCIPY_P.toFixed(3)}`,
    });
    expect(tauStatus(mmd, [0.05, 0.04, 0.03]).status).toBe('held');
    expect(tauStatus(mse, mmd).status).toBe('not held');
    // One seed: no test, so not significant.
    expect(tauStatus([0.3], [0.2]).status).toBe('held on the means only');
  });
});

describe('study aggregation and claims', () => {
  it('mean +- std per cell, paired t-tests of MME-SID, tau tables', () => {
    const s = aggregate('beauty', runs());
    expect(s.cells['E4SRec']!['HR@5']!.mean).toBeCloseTo(0.04, 12);
    expect(s.cells['E4SRec']!['HR@5']!.std).toBeCloseTo(0.001, 12);
    const want = pairedTTest([0.0595, 0.06, 0.0605], [0.039, 0.04, 0.041]);
    expect(s.tTests['E4SRec']!['HR@5']!.p).toBeCloseTo(want.p, 12);
    expect(s.tau['MME-SID']!['all']!.after.tauA.mean).toBeCloseTo(0.27, 12);
    expect(s.tokenizerTau['mm-rqvae-mse']!.mean).toBeCloseTo(0.37, 12);
  });

  it('marks each claim held / not held / not testable with its evidence', () => {
    const s = aggregate('beauty', runs());
    const claims = checkClaims(s, 16);
    const by = (part: string) => claims.find((c) => c.claim.includes(part))!;
    expect(by('MME-SID beats every').status).toBe('held');
    expect(by('SASRec < E4SRec < ME < SE-SID-MMD').status).toBe('held');
    expect(by('SE-SID-MMD > SE-SID-MSE').status).toBe('not held');
    expect(by('MME-SID > MME-SID-random').status).toBe('held');
    expect(by('SE-random < MME-random').status).toBe('held');
    expect(by('MMD-reconstruction').status).toBe('held');
    expect(by("E4SRec's item tokens").status).toBe('held');
    expect(by("ME's item tokens").status).toBe('not held');
    // Equal tau differences on every seed: held, as the orderings' rule says.
    expect(by('MMD-reconstruction').evidence).toContain(
      'paired t-test over the seeds p 0 (equal differences)',
    );
    expect(by('codebook-initialised SID embeddings keep tau above random init').status).toBe('held');
    // Ahead on the means but not on every seed: the ordering is held on the means only.
    const noisy = aggregate(
      'beauty',
      runs().map((r, i) => ({
        ...r,
        variants: r.variants.map((v) =>
          v.variant === 'MME-SID-random' ? { ...v, metrics: metrics([0.0495, 0.065, 0.054][i]!) } : v,
        ),
      })),
    );
    const weak = checkClaims(noisy, 16).find((x) => x.claim.includes('MME-SID > MME-SID-random'))!;
    const d = [0.0595 - 0.0495, 0.06 - 0.065, 0.0605 - 0.054].map((x) => x * 0.5); // NDCG@5 = base / 2
    const wantP = pairedTTest(d, [0, 0, 0]).p;
    expect(wantP).toBeGreaterThan(0.05);
    expect(weak.status).toBe('held on the means only');
    expect(weak.evidence).toContain(`NDCG@5 MME-SID-random vs MME-SID ${wantP.toFixed(3)}`);
    // A study without ME cannot test the chains that need it.
    const noMe = aggregate(
      'beauty',
      runs().map((r) => ({ ...r, variants: r.variants.filter((v) => v.variant !== 'ME') })),
    );
    const c = checkClaims(noMe, 16).find((x) => x.claim.includes('SASRec < E4SRec < ME'))!;
    expect(c).toMatchObject({ status: 'not testable', evidence: 'not run: ME' });
    // ... but the part of the chain over the methods that ran is tested (the full chain implies it).
    const part = checkClaims(noMe, 16).find((x) => x.claim.includes('ME not run'))!;
    expect(part.claim).toBe(
      'NDCG@20: SASRec < E4SRec < SE-SID-MMD < MME-SID (part of the claim above: the methods run; ME not run)',
    );
    expect(part.status).toBe('held');
    // Only SE-random and MME-SID of the ablation ran, with SE-random above: the part is not held.
    const ablation = aggregate(
      'beauty',
      runs().map((r) => ({
        ...r,
        variants: r.variants
          .filter((v) => ['SE-random', 'MME-SID'].includes(v.variant))
          .map((v) => (v.variant === 'SE-random' ? { ...v, metrics: metrics(0.09) } : v)),
      })),
    );
    const abl = checkClaims(ablation, 16).filter((x) => x.source === 'Fig. 5b');
    expect(abl.map((x) => x.status)).toEqual(['not testable', 'not held']);
    expect(abl[1]!.claim).toContain('SE-random < MME-SID (part of the claim above');
    expect(abl[1]!.evidence).toContain('broken: NDCG@20: SE-random >= MME-SID');
    // One method of a chain run: nothing to order.
    const alone = aggregate(
      'beauty',
      runs().map((r) => ({ ...r, variants: r.variants.filter((v) => v.variant === 'MME-SID') })),
    );
    expect(checkClaims(alone, 16).filter((x) => x.source === 'Fig. 5b')).toHaveLength(1);
  });

  it('reads the rank ceiling as the numerical rank: a steep but full spectrum escapes it (Fig. 3b)', () => {
    // Closed form: ranks of normalised and unnormalised spectra, the tolerance exclusive.
    expect(numericalRank([1, 0.5, 2e-5, 1e-5, 1e-8, 0])).toBe(3);
    expect(numericalRank([4, 2, 8e-5, 4e-6])).toBe(3);
    expect(numericalRank([0, 0])).toBe(0);
    expect(RANK_TOLERANCE).toBe(1e-5);
    // 128-wide tokens, collaborative width 16. E4SRec: rank 17 then float32 noise (Beauty's 2e-8);
    // ME: rank 33; MME-SID: sigma_18 / sigma_1 = 5e-4 (below the 1e-3 that once separated the two
    // readings) but 43 directions above the tolerance, as on Beauty with babyllama128.
    const spectrum = (rank: number, at: (i: number) => number) =>
      Array.from({ length: 128 }, (_, i) => (i === 0 ? 1 : i < rank ? at(i) : 2e-8));
    const base = aggregate('beauty', runs());
    const study = (mme: number[], e4 = spectrum(17, () => 0.03)) => ({
      ...base,
      spectra: { E4SRec: e4, ME: spectrum(33, () => 0.1), 'MME-SID': mme },
    });
    const steep = spectrum(43, (i) => (i < 17 ? 1e-3 : 5e-4));
    const claims = checkClaims(study(steep), 16);
    const by = (start: string) => claims.find((c) => c.claim.startsWith(start))!;
    expect(by("E4SRec's item tokens collapse beyond rank 17")).toMatchObject({ status: 'held' });
    expect(by("E4SRec's item tokens").evidence).toContain('sigma_18 / sigma_1 = 2.00e-8; numerical rank 17');
    expect(by("ME's item tokens collapse beyond rank 33")).toMatchObject({ status: 'held' });
    expect(by("MME-SID's tokens escape").status).toBe('held');
    expect(by("MME-SID's tokens escape").evidence).toContain(
      'MME-SID 43 of 128; E4SRec 17 (ceiling 17), ME 33 (ceiling 33); sigma_18 / sigma_1 = 5.00e-4',
    );
    // MME-SID's tokens stopping at rank 17 too: not escaped, however large its first 17 values.
    expect(
      checkClaims(study(spectrum(17, () => 0.5)), 16).find((c) =>
        c.claim.startsWith("MME-SID's tokens escape"),
      )!.status,
    ).toBe('not held');
    // E4SRec's tokens with a small but real 18th direction (5e-4 > 1e-5): no collapse at 17.
    const leaky = checkClaims(
      study(
        steep,
        spectrum(18, (i) => (i < 17 ? 0.03 : 5e-4)),
      ),
      16,
    );
    expect(leaky.find((c) => c.claim.startsWith("E4SRec's item tokens collapse"))!.status).toBe('not held');
  });

  it('compares how fast the spectra decay even when the token width leaves no ceiling (Fig. 3b)', () => {
    // Closed form: a flat spectrum has mean log10 0; [1, 0.1, 0.01] has (0 - 1 - 2) / 3 = -1.
    expect(spectrumDecay([1, 1, 1])).toBe(0);
    expect(spectrumDecay([1, 0.1, 0.01])).toBeCloseTo(-1, 12);
    expect(spectrumDecay([2, 0.2, 0])).toBeCloseTo((0 - 1 - 12) / 3, 12);
    const s = aggregate('beauty', runs());
    // 64-wide tokens from a 64-wide table: the rank-ceiling claims are not testable, the decay one is.
    const claims = checkClaims(s, 64);
    expect(claims.find((c) => c.claim.startsWith("E4SRec's item tokens collapse"))!.status).toBe(
      'not testable',
    );
    const e4 = claims.find((c) =>
      c.claim.startsWith("MME-SID's item-token spectrum decays slower than E4SRec's"),
    )!;
    // E4SRec's fixture spectrum drops to 1e-7 after index 16; MME-SID's is 1 / (1 + i).
    expect(e4.status).toBe('held');
    expect(e4.evidence).toContain(`MME-SID ${spectrumDecay(s.spectra['MME-SID']!).toFixed(2)}`);
    const swapped = {
      ...s,
      spectra: { ...s.spectra, 'MME-SID': s.spectra.E4SRec!, E4SRec: s.spectra['MME-SID']! },
    };
    expect(
      checkClaims(swapped, 64).find((c) =>
        c.claim.startsWith("MME-SID's item-token spectrum decays slower than E4SRec's"),
      )!.status,
    ).toBe('not held');
    const noMe = { ...s, spectra: { 'MME-SID': s.spectra['MME-SID']! } };
    expect(
      checkClaims(noMe, 64).find((c) => c.claim === "MME-SID's item-token spectrum decays slower than ME's"),
    ).toMatchObject({
      status: 'not testable',
      evidence: 'ME not run',
    });
  });

  it('writes the report, JSON and figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    try {
      const s = aggregate('beauty', runs());
      const path = writeStudy(dir, s, checkClaims(s, 16), {
        paper: { 'MME-SID': { 'HR@5': 0.0675 } },
        wallSeconds: 3600,
        invocationSeconds: 600,
        startedAt: '2026-12-06T05:24:00.000Z',
        machine: {
          cores: 2,
          cpu: 'EPYC',
          loadAverage: { start: [4, 5, 6], end: [7.25, 8, 9] },
          nativeBlas: true,
        },
        stageSeconds: [
          { seed: 1, sasrec: 120, 'finetune-MME-SID': 60 },
          { seed: 2, sasrec: 180 },
        ],
        cuts: ['dataset not run in this study: toys'],
        command: 'test',
        notes: ['a note'],
        collabWidth: 16,
      });
      const md = readFileSync(path, 'utf8');
      expect(md).toContain(
        'Wall time 60.0 min from 2026-12-06T05:24:00.000Z (the last invocation 10.0 min; earlier ones ran the stages it reused) on 2 cores (EPYC) shared with other jobs, load average (1/5/15 min) 4.0 / 5.0 / 6.0 at the start of the last invocation, 7.3 / 8.0 / 9.0 at the end; matmuls through native OpenBLAS',
      );
      // 120 + 60 + 180 s; the seed number is not a stage.
      expect(md).toContain('Stage time summed over the seeds: 6.0 min');
      expect(md).toMatch(
        /## What was cut compared with the issue's study\n\n- dataset not run in this study: toys\n\n## Notes\n\n- a note/,
      );
      const json = JSON.parse(readFileSync(join(dir, 'study-beauty.json'), 'utf8'));
      expect(json).toMatchObject({
        wallSeconds: 3600,
        invocationSeconds: 600,
        machine: { loadAverage: { start: [4, 5, 6] } },
        cuts: ['dataset not run in this study: toys'],
        stageSeconds: [{ seed: 1, sasrec: 120 }, { seed: 2 }],
      });
      expect(md).toMatch(/\| E4SRec \| 0\.0400 ± 0\.0010 \*/);
      expect(md).toMatch(/\| MME-SID \| 0\.0675 \|/);
      expect(readFileSync(join(dir, 'study-beauty-spectra.svg'), 'utf8')).toMatch(/<svg/);
      // The spectra table ends with each method's numerical rank: E4SRec's fixture stops after 17
      // values (then 1e-7), MME-SID's 1 / (1 + i) keeps all 64 above 1e-5.
      expect(md).toContain('| rank (σi/σ1 > 1e-5) |');
      expect(md).toMatch(/\n\| E4SRec \| 5\.00e-1 \|[^\n]*\| 17 \|\n/);
      expect(md).toMatch(/\n\| MME-SID \| 5\.00e-1 \|[^\n]*\| 64 \|\n/);
      expect(JSON.parse(readFileSync(join(dir, 'study-beauty.json'), 'utf8')).claims.length).toBeGreaterThan(
        5,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("reports each method's retrieval and its ms per user beside the metrics (decoding vs scoring)", () => {
    const withTiming = runs().map((r, i) => ({
      ...r,
      variants: [
        ...r.variants.map((v) =>
          v.variant === 'MME-SID'
            ? { ...v, retrieval: { kind: 'full ranking' as const, msPerUser: 2 + i, users: 22363 } }
            : v,
        ),
        {
          variant: 'TIGER-MM',
          metrics: metrics(0.01),
          retrieval: { kind: 'beam search' as const, msPerUser: 300 + 30 * i, users: 500, beamWidth: 20 },
        },
      ],
    }));
    const s = aggregate('beauty', withTiming);
    expect(s.retrieval['TIGER-MM']).toMatchObject({
      kind: 'beam search',
      users: [500, 500, 500],
      beamWidth: 20,
    });
    expect(s.retrieval['TIGER-MM']!.msPerUser.mean).toBeCloseTo(330, 12);
    expect(s.retrieval['MME-SID']!.msPerUser.values).toEqual([2, 3, 4]);
    expect(s.retrieval['E4SRec']).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    try {
      const md = studyMarkdown(dir, s);
      expect(md).toMatch(/\| TIGER-MM \| .* \| beam search \(20\), 500 users \| 330\.0 \|/);
      expect(md).toMatch(/\| MME-SID \| .* \| full ranking, 22363 users \| 3\.0 \|/);
      expect(md).toMatch(/\| E4SRec \| .* \| – \| – \|/);
      expect(md).toMatch(/ms\/user: wall time per test user/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('compares MME-SID with a sampled method on the same users: table, paired t-test and Table-3 claim', () => {
    const sample = { users: 64, of: 600, seed: 'generative-eval-users' };
    const seeds: SeedRun[] = [1, 2, 3].map((seed) => ({
      seed,
      baselines: [
        // SASRec on all users; on the sample (its restricted ranks) a different figure.
        {
          variant: 'SASRec',
          metrics: metrics(0.03 + seed * 0.001),
          onSample: { users: 64, of: 600, metrics: metrics(0.01 + seed * 0.002) },
          // Its ranks came from a backfill stage (one tie moved a user past rank 10 on seed 2).
          ranksBackfill: {
            source: `seed-${seed}/sasrec/x`,
            file: 'test-ranks.i32',
            evaluation: 'evaluateRanking',
            users: 600,
            hits: {
              '@5': { stored: 3, recomputed: 3 },
              '@10': { stored: 5, recomputed: seed === 2 ? 4 : 5 },
              '@20': { stored: 9, recomputed: 9 },
            },
            delta: { 'NDCG@20': seed === 2 ? -1e-4 : 0, meanRank: seed === 2 ? 1 / 600 : 0 },
            maxAbsDelta: seed === 2 ? 1 / 600 : 0,
          },
        },
      ],
      variants: [
        // MME-SID above TIGER-MM on all users, below it on the sample.
        {
          variant: 'MME-SID',
          metrics: metrics(0.06 + seed * 0.001),
          onSample: { users: 64, of: 600, metrics: metrics(0.02 + seed * 0.003) },
        },
        { variant: 'TIGER-MM', metrics: metrics(0.04 + seed * 0.0005), sample },
      ],
    }));
    const s = aggregate('beauty', seeds);
    expect(s.sample).toEqual({ users: 64, of: 600, methods: ['TIGER-MM'] });
    expect(s.sampleCells!['MME-SID']!['HR@5']!.values).toEqual(
      [0.023, 0.026, 0.029].map((x) => expect.closeTo(x, 12)),
    );
    expect(s.sampleCells!['TIGER-MM']!['HR@5']!.values).toEqual(s.cells['TIGER-MM']!['HR@5']!.values);
    expect(s.sampleCells!.SASRec!['HR@5']!.mean).toBeCloseTo(0.014, 12);
    // The t-test against TIGER-MM pairs MME-SID's sample figures; against SASRec, the all-users ones.
    const mmeSample = s.sampleCells!['MME-SID']!['HR@10']!.values;
    expect(s.tTests['TIGER-MM']!['HR@10']).toEqual(
      pairedTTest(mmeSample, s.cells['TIGER-MM']!['HR@10']!.values),
    );
    expect(s.tTests['TIGER-MM']!['HR@10']!.meanDiff).toBeLessThan(0);
    expect(s.tTests.SASRec!['HR@10']).toEqual(
      pairedTTest(s.cells['MME-SID']!['HR@10']!.values, s.cells.SASRec!['HR@10']!.values),
    );
    const table3 = checkClaims(s, 16).find((c) => c.source === 'Table 3')!;
    // The semantic-ID-only claim, on the same users: MME-SID below TIGER-MM there.
    const sidOnly = checkClaims(s, 16).find((c) => c.source === 'Table 3 (semantic-ID-only rows)')!;
    expect(sidOnly.status).toBe('not held');
    expect(sidOnly.evidence).toMatch(/not above: TIGER-MM HR@5,/);
    expect(sidOnly.evidence).toMatch(
      /TIGER-MM \(the same 64 of 600 test users\): HR@5 0\.0260 vs 0\.0410 \(p /,
    );
    expect(table3.status).toBe('not held');
    expect(table3.evidence).toMatch(/TIGER-MM HR@5 \(on the same 64 users\)/);
    expect(table3.evidence).not.toMatch(/SASRec HR@5/);
    // Without MME-SID's sample figures (a run that saved no ranks) there is no test and no verdict.
    const noRanks = seeds.map((r) => ({
      ...r,
      variants: r.variants.map((v) => (v.variant === 'MME-SID' ? { ...v, onSample: undefined } : v)),
    }));
    const u = aggregate('beauty', noRanks);
    expect(u.tTests['TIGER-MM']!['HR@10']).toBeUndefined();
    const c = checkClaims(u, 16).find((x) => x.source === 'Table 3')!;
    expect(c.status).toBe('not testable');
    expect(c.evidence).toMatch(/not compared \(no MME-SID figures on their 64 sampled users\): TIGER-MM/);
    expect(checkClaims(u, 16).find((x) => x.source === 'Table 3 (semantic-ID-only rows)')!.status).toBe(
      'not testable',
    );
    // MME-SID above TIGER-MM on the sample on every seed by a varying margin: held with the p-values
    // of the paired test (scipy.stats.ttest_rel([0.05, 0.053, 0.058], [0.0405, 0.041, 0.0415]): p 0.0252).
    const above = seeds.map((r) => ({
      ...r,
      variants: r.variants.map((v) =>
        v.variant === 'MME-SID'
          ? { ...v, onSample: { users: 64, of: 600, metrics: metrics([0.05, 0.053, 0.058][r.seed - 1]!) } }
          : v,
      ),
    }));
    const h = checkClaims(aggregate('beauty', above), 16).find(
      (x) => x.source === 'Table 3 (semantic-ID-only rows)',
    )!;
    expect(h.claim).toMatch(/\(TIGER-MM\)/);
    expect(h.status).toBe('held');
    expect(h.evidence).toMatch(
      /TIGER-MM \(the same 64 of 600 test users\): HR@5 0\.0537 vs 0\.0410 \(p 0\.025\)/,
    );
    // The same margin on every seed (no spread, p undefined) counts as significant, as in the orderings.
    // (Dyadic values, so that HR@5's differences are exactly equal.)
    const steady = seeds.map((r) => ({
      ...r,
      variants: r.variants.map((v) =>
        v.variant === 'MME-SID'
          ? { ...v, onSample: { users: 64, of: 600, metrics: metrics(0.5 + r.seed * 0.125) } }
          : v.variant === 'TIGER-MM'
            ? { ...v, metrics: metrics(r.seed * 0.125) }
            : v,
      ),
    }));
    const e = checkClaims(aggregate('beauty', steady), 16).find(
      (x) => x.source === 'Table 3 (semantic-ID-only rows)',
    )!;
    expect(e.status).toBe('held');
    expect(e.evidence).toMatch(/HR@5 0\.7500 vs 0\.2500 \(p 0 \(equal differences\)\)/);
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    try {
      const md = studyMarkdown(dir, s);
      expect(md).toMatch(/### The same table on the 64 of 600 test users that TIGER-MM decode/);
      expect(s.ranksBackfill?.SASRec?.map((c) => c.seed)).toEqual([1, 2, 3]);
      expect(md).toMatch(/### Per-user ranks evaluated again/);
      expect(md).toContain('| SASRec | 2 | 600 | 3 / 3 | 5 / 4 | 9 / 9 | 1.67e-3 | -1.00e-4 | +1.67e-3 |');
      expect(md).toMatch(/\| MME-SID \| 0\.0260 ± 0\.0030 \|/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  it('gives the baselines timed by the ranking-timing stage their ms per user (two decimals below 1 ms)', () => {
    const timed = runs().map((r, i) => ({
      ...r,
      baselines: [
        ...r.baselines.map((b) =>
          b.variant === 'SASRec'
            ? { ...b, retrieval: { kind: 'full ranking' as const, msPerUser: 1.5 + i, users: 22363 } }
            : b,
        ),
        {
          variant: 'Popularity',
          metrics: metrics(0.01),
          retrieval: { kind: 'full ranking' as const, msPerUser: 0.3 + 0.01 * i, users: 22363 },
        },
      ],
    }));
    const s = aggregate('beauty', timed);
    expect(s.retrieval.SASRec!.msPerUser.values).toEqual([1.5, 2.5, 3.5]);
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    try {
      const md = studyMarkdown(dir, s);
      expect(md).toMatch(/\| SASRec \| .* \| full ranking, 22363 users \| 2\.5 \|/);
      expect(md).toMatch(/\| Popularity \| .* \| full ranking, 22363 users \| 0\.31 \|/);
      // Without beam search, the note on what ms/user measures still comes, naming both timers.
      expect(md).toMatch(/ms\/user: wall time per test user of the full-ranking evaluation/);
      expect(md).toMatch(/ranking-timing stage/);
      // The LLM rows' timer depends on the code that ran their stage (two evaluators): both named.
      expect(md).toMatch(/batches of 16 users before issue 18's frozen scorer/);
      expect(md).not.toMatch(/fine-tuning stage \(batches of 16 users\)/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
