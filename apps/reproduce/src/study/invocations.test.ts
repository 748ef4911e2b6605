import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregate, checkClaims } from './aggregate.js';
import { describeInvocations, earlierInvocations, type Invocation, studyOut } from './invocations.js';
import { writeStudy } from './write.js';

const ROOT = '/repo';
/** The shape of study-beauty.json before invocations were listed (session 5's file). */
const legacy = {
  command:
    'bench:study --datasets beauty --seeds 3 --variants SASRec,E4SRec,MME-SID,MME-SID-random --out /runs/study --report-only',
  wallSeconds: 5038.354,
  startedAt: '2026-12-06T05:24:00.000Z',
  machine: { loadAverage: { start: [4.85, 6.47, 8.47], end: [4.74, 6.83, 8.14] } },
};

describe('study invocations', () => {
  it('reads the --out of a study file from its field, else from its command (relative to the repo root)', () => {
    expect(studyOut({ out: '/a/b' }, ROOT)).toBe('/a/b');
    expect(studyOut({ command: 'bench:study --out runs/study --seeds 3' }, ROOT)).toBe('/repo/runs/study');
    expect(studyOut({ command: 'bench:study --out=/x' }, ROOT)).toBe('/x');
    expect(studyOut({ command: 'bench:study --seeds 3' }, ROOT)).toBeUndefined();
  });

  it('carries the earlier invocations only from a study file made on the same --out', () => {
    expect(earlierInvocations(undefined, '/runs/study', ROOT)).toEqual([]);
    expect(earlierInvocations(legacy, '/elsewhere', ROOT)).toEqual([]);
    const [one, ...rest] = earlierInvocations(legacy, '/runs/study', ROOT);
    expect(rest).toEqual([]);
    expect(one).toMatchObject({
      startedAt: '2026-12-06T05:24:00.000Z',
      seconds: 5038.354,
      variants: 'SASRec,E4SRec,MME-SID,MME-SID-random',
      loadAverage: legacy.machine.loadAverage,
    });
    expect(one!.note).toMatch(/may span several/);
    const listed: Invocation[] = [
      { startedAt: '2026-12-06T05:24:00.000Z', seconds: 60 },
      { startedAt: '2026-12-06T09:00:00.000Z', seconds: 30 },
    ];
    expect(earlierInvocations({ out: '/runs/study', invocations: listed }, '/runs/study', ROOT)).toBe(listed);
    // A file without a start or wall time gives nothing to carry.
    expect(earlierInvocations({ out: '/runs/study' }, '/runs/study', ROOT)).toEqual([]);
  });

  it('the report says the wall time is the sum of the invocations and lists each', () => {
    const invocations: Invocation[] = [
      ...earlierInvocations(legacy, '/runs/study', ROOT),
      {
        startedAt: '2026-12-06T09:01:30.000Z',
        seconds: 900,
        variants: 'ME',
        loadAverage: { start: [2.04, 3, 4], end: [5.96, 5, 4] },
      },
    ];
    expect(describeInvocations(invocations)).toBe(
      '2026-12-06 05:24Z 84.0 min (SASRec,E4SRec,MME-SID,MME-SID-random; load 4.8 -> 4.7); 2026-12-06 09:01Z 15.0 min (ME; load 2.0 -> 6.0)',
    );
    const run = (v: string, x: number) => ({ variant: v, metrics: { 'HR@10': x } });
    const s = aggregate(
      'beauty',
      [1, 2].map((seed) => ({ seed, variants: [run('MME-SID', 0.02)], baselines: [run('SASRec', 0.03)] })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'study-inv-'));
    try {
      const wallSeconds = 5038.354 + 900;
      writeStudy(dir, s, checkClaims(s, 64), {
        paper: {},
        wallSeconds,
        invocationSeconds: 900,
        invocations,
        out: '/runs/study',
        command: 't',
        notes: [],
        collabWidth: 64,
      });
      const md = readFileSync(join(dir, 'study-beauty.md'), 'utf8');
      expect(md).toContain(
        'Wall time 99.0 min, the sum of 2 invocations on the same --out (each reusing the stages the earlier ones finished: 2026-12-06 05:24Z 84.0 min',
      );
      const json = JSON.parse(readFileSync(join(dir, 'study-beauty.json'), 'utf8'));
      expect(json.out).toBe('/runs/study');
      expect(json.invocations).toHaveLength(2);
      // The next invocation on the same --out carries both.
      expect(earlierInvocations(json, '/runs/study', ROOT)).toEqual(invocations);
      // A wall time that is not their sum (counted from --started) keeps the old header.
      writeStudy(dir, s, checkClaims(s, 64), {
        paper: {},
        wallSeconds: 7200,
        startedAt: '2026-12-06T05:24:00.000Z',
        invocationSeconds: 900,
        invocations,
        command: 't',
        notes: [],
        collabWidth: 64,
      });
      expect(readFileSync(join(dir, 'study-beauty.md'), 'utf8')).toContain(
        'Wall time 120.0 min from 2026-12-06T05:24:00.000Z (the last invocation 15.0 min',
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
