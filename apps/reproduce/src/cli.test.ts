import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedStage, hashOf, runStage, stableStringify } from './cache.js';
import { PASS_THROUGH_OPTIONS, parseCli, passThroughArgs, UsageError } from './cli.js';
import { datasetDir, llamaLabel, llamaWidth, type Options, SHARED_DIR } from './options.js';
import { barChart, lineChart } from './report/svg.js';

describe('passThroughArgs (what bench:study hands every run)', () => {
  it('renders set values in declaration order, booleans as bare flags, and leaves unset ones out', () => {
    expect(
      passThroughArgs({
        'finetune-users': '2000',
        'no-rqvae-extras': true,
        'no-finetune-validation': false,
        collaborative: 'authors',
        seeds: '3',
      }),
    ).toEqual(['--collaborative', 'authors', '--finetune-users', '2000', '--no-rqvae-extras']);
  });

  it('gives argv that parseCli reads back to the same budgets', () => {
    const args = passThroughArgs({
      'sasrec-epochs': '4',
      'rqvae-epochs': '2',
      'finetune-epochs': '1',
      'finetune-users': '2000',
      'no-finetune-validation': true,
    });
    const o = parseCli(args) as Options;
    expect(o).toMatchObject({
      sasrecEpochs: 4,
      rqvaeEpochs: 2,
      finetuneEpochs: 1,
      finetuneUsers: 2000,
      finetuneValidation: false,
      rqvaeExtras: true,
    });
    expect(Object.keys(PASS_THROUGH_OPTIONS)).toContain('llama');
  });
});

describe('parseCli', () => {
  it('fills the embedded defaults', () => {
    const o = parseCli([]);
    expect(o).toMatchObject({
      dataset: 'synthetic',
      preset: 'tiny',
      backend: 'wasm',
      seed: 42,
      out: 'runs/default',
      finetuneValidation: true,
      rqvaeExtras: true,
      benchRecord: true,
    });
  });

  it('takes the budget cuts a study passes through', () => {
    expect(
      parseCli([
        '--finetune-users',
        '2000',
        '--finetune-epochs',
        '1',
        '--no-finetune-validation',
        '--no-rqvae-extras',
        '--no-bench-record',
      ]),
    ).toMatchObject({
      finetuneUsers: 2000,
      finetuneEpochs: 1,
      finetuneValidation: false,
      rqvaeExtras: false,
      benchRecord: false,
    });
    expect(() => parseCli(['--finetune-users', '0'])).toThrow(/finetuneUsers/);
    expect(() => parseCli(['--finetune-users', '2e3'])).toThrow(
      /--finetune-users must be a non-negative integer/,
    );
  });

  it('names every invalid option before any work starts', () => {
    expect(() => parseCli(['--dataset', 'movies'])).toThrow(UsageError);
    expect(() => parseCli(['--dataset', 'movies'])).toThrow(/--dataset/);
    expect(() => parseCli(['--seed', 'abc'])).toThrow(/--seed must be a non-negative integer/);
    expect(() => parseCli(['--colour', 'red'])).toThrow(/colour/);
    expect(() => parseCli(['--stages', 'data,nonsense'])).toThrow(/stages/);
  });

  it('refuses an unknown variant, or an alternative reading a variant lacks, before any stage runs', () => {
    expect(() => parseCli(['--variants', 'SASRec,MME-SID,Concat+'])).toThrow(/unknown "Concat\+"/);
    expect(() => parseCli(['--variants', 'E4SRec:alt'])).toThrow(/E4SRec has one reading/);
    expect(parseCli(['--variants', 'Concat:alt,w/o-Fusion,SE-random'])).toMatchObject({
      variants: ['Concat:alt', 'w/o-Fusion', 'SE-random'],
    });
  });

  it('any folder with sequences.txt is a dataset (--dataset custom), the missing optional files reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-custom-'));
    const warn = console.warn;
    const lines: string[] = [];
    console.warn = (m: string) => lines.push(m);
    try {
      writeFileSync(join(dir, 'sequences.txt'), '1 1 2 3\n2 2 3 1\n');
      expect(parseCli(['--data-dir', dir])).toMatchObject({ dataset: 'custom', dataDir: dir });
      expect(lines.join('\n')).toMatch(/items\.csv is absent/);
      expect(lines.join('\n')).toMatch(/sasrec_item_emb\.f32 is absent/);
      expect(() => parseCli(['--dataset', 'custom'])).toThrow(/--dataset custom needs --data-dir/);
    } finally {
      console.warn = warn;
      rmSync(dir, { recursive: true });
    }
  });

  it('--dataset toys reads ../shared/datasets/toys', (ctx) => {
    if (!existsSync(join(SHARED_DIR, 'datasets/toys/sequences.txt'))) {
      console.warn('[skip] ../shared/datasets/toys is absent');
      ctx.skip();
    }
    expect(datasetDir(parseCli(['--dataset', 'toys']) as Options).dir).toBe(
      join(SHARED_DIR, 'datasets/toys'),
    );
  });

  it('--llama takes a llama2.c folder or a model name under ../shared/models, and reads its width', () => {
    const baby = join(SHARED_DIR, 'models/babyllama128');
    if (!existsSync(baby)) {
      console.warn(`[skip] ${baby} is absent: the babyllama128 --llama checks need ../shared`);
      return;
    }
    expect((parseCli(['--llama', 'babyllama128']) as Options).llama).toBe(baby);
    expect(llamaWidth(baby)).toBe(128);
    expect(llamaLabel(baby)).toBe('babyllama128 (d = 128)');
    expect(llamaWidth(join(SHARED_DIR, 'models/stories260k'))).toBe(64);
    const empty = mkdtempSync(join(tmpdir(), 'reproduce-llama-'));
    try {
      expect(() => parseCli(['--llama', empty])).toThrow(/neither a config\.json .* nor one llama2\.c \.bin/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reports missing inputs with what to pass instead', () => {
    expect(() => parseCli(['--dataset', 'sports'])).toThrow(/--data-dir/);
    expect(() => parseCli(['--llama', '/nonexistent/llama'])).toThrow(
      /--llama \/nonexistent\/llama: no such folder/,
    );
    expect(() => parseCli(['--preset', 'paper'])).toThrow(/--preset paper needs --llama/);
    expect(() => parseCli(['--collaborative', 'authors'])).toThrow(
      /--collaborative authors needs a dataset folder/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'reproduce-cli-'));
    try {
      expect(() => parseCli(['--data-dir', empty])).toThrow(/no sequences\.txt .* put one of them there/);
      writeFileSync(join(empty, 'sequences.txt'), '1 1 2 3\n2 2 3 1\n');
      expect(() =>
        parseCli(['--dataset', 'beauty', '--data-dir', empty, '--collaborative', 'authors']),
      ).toThrow(/sasrec_item_emb\.f32 does not exist/);
    } finally {
      rmSync(empty, { recursive: true });
    }
    expect(() => parseCli(['--collaborative', 'mine'])).toThrow(/--collaborative/);
  });

  it('checks the --llm2clip layout (text/ and vision/ folders) and names what is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-llm2clip-'));
    try {
      expect(() => parseCli(['--llm2clip', join(dir, 'nope')])).toThrow(/--llm2clip .*nope does not exist/);
      const problems = () => {
        try {
          parseCli(['--llm2clip', dir]);
          return '';
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          return (e as Error).message;
        }
      };
      let msg = problems();
      expect(msg).toContain(`no ${join(dir, 'text')} (expected the LLM2Vec Llama folder`);
      expect(msg).toContain(`no ${join(dir, 'vision')} (expected the LLM2CLIP CLIP folder`);
      expect(msg).toMatch(/expects <dir>\/text .* and <dir>\/vision/);
      mkdirSync(join(dir, 'text'));
      mkdirSync(join(dir, 'vision'));
      writeFileSync(join(dir, 'text', 'config.json'), '{}');
      writeFileSync(join(dir, 'vision', 'model.safetensors'), '');
      msg = problems();
      expect(msg).toContain(
        `no ${join(dir, 'text', 'model.safetensors')} or ${join(dir, 'text', 'model.safetensors.index.json')}`,
      );
      expect(msg).toContain(`no ${join(dir, 'text', 'tokenizer.json')}`);
      expect(msg).toContain(`no ${join(dir, 'vision', 'config.json')}`);
      expect(msg).not.toContain(join(dir, 'vision', 'model.safetensors'));
      writeFileSync(join(dir, 'text', 'model.safetensors.index.json'), '{}');
      writeFileSync(join(dir, 'text', 'tokenizer.json'), '{}');
      writeFileSync(join(dir, 'vision', 'config.json'), '{}');
      expect(problems()).toBe('');
      expect(parseCli(['--llm2clip', dir])).toMatchObject({ preset: 'tiny', llm2clip: dir });
      // The paper preset needs both folders; with them (and a Llama folder) it validates.
      expect(() => parseCli(['--preset', 'paper', '--llama', join(dir, 'text')])).toThrow(
        /--preset paper needs --llm2clip <dir> with <dir>\/text/,
      );
      expect(parseCli(['--preset', 'paper', '--llama', join(dir, 'text'), '--llm2clip', dir])).toMatchObject({
        preset: 'paper',
        llm2clip: dir,
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('stage cache', () => {
  it('hashes configs independently of key order', () => {
    expect(stableStringify({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
    expect(hashOf({ a: 1, b: 2 })).toBe(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1 })).not.toBe(hashOf({ a: 2 }));
  });

  it('runs a stage once, reuses it, and re-runs when an input changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-cache-'));
    try {
      let calls = 0;
      const fn = async () => ({ value: ++calls });
      const a = await runStage(dir, 's', { x: 1 }, { up: 'h1' }, fn, () => {});
      const b = await runStage(dir, 's', { x: 1 }, { up: 'h1' }, fn, () => {});
      const c = await runStage(dir, 's', { x: 1 }, { up: 'h2' }, fn, () => {});
      expect([a.cached, b.cached, c.cached]).toEqual([false, true, false]);
      expect(b.summary).toEqual({ value: 1 });
      expect(c.summary).toEqual({ value: 2 });
      expect(JSON.parse(readFileSync(join(a.dir, 'stage.json'), 'utf8')).hash).toBe(a.hash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the work folder of a failed stage for the next attempt and writes no result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-cache-'));
    try {
      await expect(
        runStage(
          dir,
          's',
          {},
          {},
          async () => {
            throw new Error('interrupted');
          },
          () => {},
        ),
      ).rejects.toThrow('interrupted');
      let resumedFrom = '';
      const r = await runStage(
        dir,
        's',
        {},
        {},
        async (ctx) => {
          resumedFrom = ctx.workDir;
          return 1;
        },
        () => {},
      );
      expect(resumedFrom.endsWith(`${r.hash}.partial`)).toBe(true);
      expect(r.cached).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('svg figures', () => {
  it('draws one polyline per series and one bar per finite value', () => {
    const line = lineChart(
      [
        { name: 'a', values: [1, 0.5, 0.1] },
        { name: 'b', values: [1, 0.9] },
      ],
      { title: 't', xLabel: 'i', yLabel: 'v', logY: true },
    );
    expect(line.match(/<polyline/g)).toHaveLength(2);
    const bars = barChart(['x', 'y'], [{ name: 'n', values: [0.1, Number.NaN] }], {
      title: 't',
      yLabel: 'v',
    });
    expect(bars.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill/g)).toHaveLength(1 + 1);
  });
});

describe('stage cache across processes', () => {
  it('cachedStage reads a finished stage and runs nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-cache-'));
    try {
      expect(cachedStage(dir, 's', { a: 1 }, {})).toBeUndefined();
      await runStage(
        dir,
        's',
        { a: 1 },
        {},
        async () => ({ v: 7 }),
        () => {},
      );
      expect(cachedStage<{ v: number }>(dir, 's', { a: 1 }, {})?.summary.v).toBe(7);
      expect(cachedStage(dir, 's', { a: 2 }, {})).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('a second runner of the same stage waits for the first and reuses its result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-cache-'));
    try {
      let runs = 0;
      const slow = async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 300));
        return { v: runs };
      };
      const lines: string[] = [];
      const [a, b] = await Promise.all([
        runStage(dir, 's', { a: 1 }, {}, slow, (m) => lines.push(m)),
        // Started while the first holds the lock (same process: the lock holds this pid, alive).
        new Promise((r) => setTimeout(r, 50)).then(() =>
          runStage(dir, 's', { a: 1 }, {}, slow, (m) => lines.push(m)),
        ),
      ]);
      expect(runs).toBe(1);
      expect(a.summary).toEqual(b.summary);
      expect(b.cached).toBe(true);
      expect(lines.some((l) => l.includes('another process is running it'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }, 20_000);

  it('takes over the lock of a process that died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reproduce-cache-'));
    try {
      const hash = hashOf({ stage: 's', config: { a: 1 }, inputs: {} });
      mkdirSync(join(dir, 's'), { recursive: true });
      // A pid far above pid_max: no such process.
      writeFileSync(join(dir, 's', `${hash}.lock`), '99999999');
      const r = await runStage(
        dir,
        's',
        { a: 1 },
        {},
        async () => ({ v: 1 }),
        () => {},
      );
      expect(r.cached).toBe(false);
      expect(existsSync(join(dir, 's', `${hash}.lock`))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
