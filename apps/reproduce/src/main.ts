// `pnpm reproduce`: the whole MME-SID pipeline with one command. See README.md.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { loadEmbedding, type Matrix } from '@mmesid/datasets';
import { loadItemEmbeddings } from '@mmesid/sasrec';
import { initBackend } from '@mmesid/tensor';
import { cachedStage, finishedStages, RunDirError, runStage, writeError, writeFileAtomic } from './cache.js';
import { HELP, parseCli, UsageError } from './cli.js';
import { LockWaitError } from './lock.js';
import {
  authorsTable,
  collaborativeTableLabel,
  datasetDir,
  defaultLlamaDir,
  llamaLabel,
  llamaWidth,
  missingDatasetFiles,
  REPO_ROOT,
} from './options.js';
import { DEFAULT_VARIANTS, preset } from './presets.js';
import { type ReportInput, type VariantResult, writeReport } from './report/report.js';
import {
  attachSampleMetrics,
  loadRanks,
  POPULARITY_RANKS_FILE,
  sharedSample,
  TEST_RANKS_FILE,
} from './report/same-users.js';
import { loadStoredData, runData, syntheticConfig } from './stages/data.js';
import { embeddingsConfig, readTextTable, readVisualTable, runEmbeddings } from './stages/embeddings.js';
import { runFinetune } from './stages/finetune.js';
import {
  EVAL_SAMPLE_SEED,
  evalUserIndices,
  generativeStageConfig,
  isGenerativeVariant,
  motorEpochsPreset,
  runGenerative,
} from './stages/generative.js';
import { RANKING_TIMING_BATCH, type RankingTiming, runRankingTiming } from './stages/ranking-timing.js';
import {
  describeCheck,
  FINETUNE_RANKS_CONFIG,
  finetuneRanksStage,
  type RanksBackfill,
  runFinetuneRanks,
  runSasrecRanks,
  SASREC_RANKS_CONFIG,
  SASREC_RANKS_STAGE,
} from './stages/ranks.js';
import {
  type RqvaeExtrasSummary,
  type RqvaeStageConfig,
  type RqvaeSummary,
  runRqvae,
  runRqvaeExtras,
} from './stages/rqvae.js';
import { runSasrec, type SasrecSummary } from './stages/sasrec.js';
import { needsMseTwin } from './variant-option.js';

function log(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`${t} ${msg}`);
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parseCli>;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`reproduce: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  if (opts === 'help') {
    console.log(HELP);
    return;
  }
  const t0 = performance.now();
  const runDir = resolve(REPO_ROOT, opts.out);
  try {
    mkdirSync(runDir, { recursive: true });
  } catch (e) {
    throw writeError(runDir, e);
  }
  const lockOpts = { maxWaitMs: opts.lockWait * 60_000 };
  const choice = await initBackend({ require: opts.backend, log: false });
  log(
    `[reproduce] backend ${choice.name}${choice.adapter ? ` (${choice.adapter})` : ''}${choice.nativeBlas ? `, native BLAS ${choice.nativeBlas}` : ''}; run directory ${runDir}`,
  );
  const llamaDir = opts.llama ?? defaultLlamaDir();
  const p = preset(opts.preset, {
    bench: opts.bench,
    seed: opts.seed,
    dataset: opts.dataset,
    d: llamaWidth(llamaDir),
  });
  if (opts.sasrecDim !== undefined) p.sasrec.d = opts.sasrecDim;
  // Budget overrides: applied to the preset and said in the report's notes (the preset's own note
  // about a budget it no longer has is dropped).
  const epochs = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;
  const override = (what: string, from: unknown, to: unknown, drop?: string) => {
    if (drop) p.notes = p.notes.filter((n) => !n.startsWith(drop));
    p.notes.push(`budget override: ${what} ${to} (preset: ${from ?? 'none'})`);
  };
  if (opts.sasrecEpochs !== undefined) {
    override('SASRec at most', p.sasrec.epochs, epochs(opts.sasrecEpochs));
    p.sasrec.epochs = opts.sasrecEpochs;
  }
  if (opts.rqvaeEpochs !== undefined) {
    override('MM-RQ-VAE', p.rqvae.maxEpochs, epochs(opts.rqvaeEpochs));
    p.rqvae.maxEpochs = opts.rqvaeEpochs;
  }
  if (opts.finetuneEpochs !== undefined) {
    override('fine-tuning', p.finetune.epochs, epochs(opts.finetuneEpochs));
    p.finetune.epochs = opts.finetuneEpochs;
  }
  if (opts.motorEpochs !== undefined)
    p.notes.push(
      `budget override: MOTOR ${epochs(opts.motorEpochs)} of its SASRec (preset: ${motorEpochsPreset({ bench: opts.bench, paper: opts.preset === 'paper' })})`,
    );
  if (opts.finetuneUsers !== undefined) {
    override(
      'fine-tuning on the sequences of',
      p.finetune.maxUsers ?? 'all users',
      `${opts.finetuneUsers} users (seeded), every position`,
      'fine-tuning on the sequences of',
    );
    p.finetune.maxUsers = opts.finetuneUsers;
  }
  if (!opts.finetuneValidation && p.finetune.validation) {
    override(
      'fine-tuning validation early stopping:',
      'on',
      `off, a fixed ${epochs(p.finetune.epochs)} as the authors train`,
      'validation early stopping',
    );
    delete p.finetune.validation;
  }
  if (opts.maxTrainExamples !== undefined)
    p.notes.push(`budget override: at most ${opts.maxTrainExamples} fine-tuning pairs per epoch (seeded)`);
  if (!opts.rqvaeExtras)
    p.notes.push('no MSE twin and no RQ-KMeans (--no-rqvae-extras): only the MMD MM-RQ-VAE');
  const every = opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {};
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const want = new Set(opts.stages);

  // 1. data
  const source = opts.dataset === 'synthetic' ? 'generator' : datasetDir(opts).dir!;
  const missing = opts.dataset === 'synthetic' ? [] : missingDatasetFiles(source);
  const dataCfg = {
    dataset: opts.dataset,
    source,
    ...(opts.dataset === 'synthetic' ? { synthetic: syntheticConfig(opts.seed, opts.bench) } : {}),
  };
  const data = await runStage(runDir, 'data', dataCfg, {}, (ctx) => runData(ctx, dataCfg), log, lockOpts);
  const stageSeconds: Record<string, number> = { data: data.seconds };
  const { dataset, visual } = await loadStoredData(data.dir, data.summary.name);

  // Which stages run: the ones asked for, and whatever a later asked-for stage reads.
  const authors = authorsTable(opts).file;
  const needFinetune = want.has('finetune');
  const needRqvae = want.has('rqvae') || needFinetune;
  const needEmbeddings = want.has('embeddings') || needRqvae;
  const needSasrec = want.has('sasrec') || (!authors && needRqvae);

  // 2. SASRec: the SASRec row, and the collaborative modality unless the authors' table is used.
  const sasrecInputs = { data: data.hash };
  const sasrec = needSasrec
    ? await runStage(
        runDir,
        'sasrec',
        p.sasrec,
        sasrecInputs,
        (ctx) => runSasrec(ctx, p.sasrec, dataset, p.guardMinutes.sasrec),
        log,
        lockOpts,
      )
    : cachedStage<SasrecSummary>(runDir, 'sasrec', p.sasrec, sasrecInputs);
  if (sasrec) stageSeconds.sasrec = sasrec.seconds;
  if (!needSasrec)
    log(
      sasrec
        ? '[sasrec] not asked for: its finished result is reused for the report'
        : '[sasrec] not asked for and not finished in this run directory: the report has no SASRec row',
    );
  const results: VariantResult[] = [];
  // The stage directory of each full-ranking variant (its per-user ranks, report/same-users.ts).
  const stageDirs = new Map<string, string>();
  // Every fine-tuning stage of this pipeline reads these; the report also shows the variants that
  // earlier invocations finished with them (a partial run must not drop them from the report).
  let ftInputs: Record<string, string> | undefined;
  const ftBase = {
    ...p.finetune,
    ...(opts.maxTrainExamples ? { maxTrainExamples: opts.maxTrainExamples } : {}),
    seed: opts.seed,
    llama: llamaDir ?? 'random-tiny',
  };
  let rq: Awaited<ReturnType<typeof runStage<RqvaeSummary>>> | undefined;
  // The MSE twin and RQ-KMeans (the rqvae-extras stage), when run or finished earlier.
  let rqExtras: RqvaeExtrasSummary | undefined;
  // The rqvae stage trains the MMD MM-RQ-VAE only (`extras: false`, see RqvaeStageConfig); the
  // extras stage reads the same config and seed.
  const rqCfg: RqvaeStageConfig = { ...p.rqvae, seed: opts.seed, extras: false };
  const rqExtrasCfg = { ...p.rqvae, seed: opts.seed };
  const wantExtras = opts.rqvaeExtras || needsMseTwin(variants);
  let textEncoder = '–';
  let visualNote = '–';
  if (needEmbeddings) {
    let collab: Matrix | undefined;
    if (authors) collab = await loadEmbedding(authors);
    else if (sasrec)
      collab = (await loadItemEmbeddings(resolve(sasrec.dir, 'sasrec_item_emb.safetensors'))).matrix;
    if (!collab) throw new Error('no collaborative table: the SASRec stage did not run');
    if (collab.rows !== dataset.numItems + 1)
      throw new Error(
        `collaborative table ${authors ?? sasrec?.dir} has ${collab.rows} rows, the dataset needs ${dataset.numItems + 1} (items + padding)`,
      );
    // What the downstream stages' cache keys depend on: the trained table or the authors' file.
    const collabKey = authors ? `authors:${authors}` : sasrec!.hash;
    if (authors)
      log(`[reproduce] collaborative modality: ${collaborativeTableLabel(opts.dataset)}, ${authors}`);

    // 3. text (and visual) embeddings.
    const embCfg = embeddingsConfig(opts, p.text.dim, visual !== null);
    const emb = await runStage(
      runDir,
      'embeddings',
      embCfg,
      { data: data.hash },
      (ctx) => runEmbeddings(ctx, embCfg, dataset, visual),
      log,
      lockOpts,
    );
    stageSeconds.embeddings = emb.seconds;
    textEncoder = emb.summary.text.encoder;
    visualNote =
      'missing' in emb.summary.visual && typeof emb.summary.visual.missing === 'string'
        ? emb.summary.visual.missing
        : (emb.summary.visual as { encoder: string }).encoder;
    const tables: Record<string, Matrix> = {
      collaborative: collab,
      text: await readTextTable(emb.dir),
    };
    const visualTable = await readVisualTable(emb.dir, emb.summary, visual);
    if (visualTable) tables.visual = visualTable;

    // 4. MM-RQ-VAE semantic IDs.
    if (needRqvae) {
      const rqStage = await runStage(
        runDir,
        'rqvae',
        rqCfg,
        { sasrec: collabKey, embeddings: emb.hash },
        (ctx) => runRqvae(ctx, rqCfg, dataset, tables, p.guardMinutes.rqvae, every),
        log,
        lockOpts,
      );
      rq = rqStage;
      stageSeconds.rqvae = rqStage.seconds;
      // 4b. The MSE twin (SE-SID-MSE's semantic IDs) and RQ-KMeans, keyed on the rqvae stage: adding
      // them leaves the rqvae stage and the fine-tuning stages that read it cached.
      let mseExportDir: string | undefined;
      if (wantExtras) {
        const ex = await runStage(
          runDir,
          'rqvae-extras',
          rqExtrasCfg,
          { rqvae: rqStage.hash },
          (ctx) => runRqvaeExtras(ctx, rqExtrasCfg, dataset, tables, p.guardMinutes.rqvae, every),
          log,
          lockOpts,
        );
        stageSeconds['rqvae-extras'] = ex.seconds;
        rqExtras = ex.summary;
        mseExportDir = resolve(ex.dir, 'mm-rqvae-mse-export');
      }

      ftInputs = { data: data.hash, sasrec: collabKey, embeddings: emb.hash, rqvae: rqStage.hash };
      // 5. fine-tuning and evaluation of every LLM variant.
      if (needFinetune) {
        for (const variant of variants.filter((v) => v !== 'SASRec')) {
          if (isGenerativeVariant(variant)) {
            const genCfg = generativeStageConfig(variant, {
              seed: opts.seed,
              llama: llamaDir ?? 'random-tiny',
              bench: opts.bench,
              paper: opts.preset === 'paper',
              rqvae: p.rqvae,
              ...(opts.motorEpochs !== undefined ? { motorEpochs: opts.motorEpochs } : {}),
            });
            const gen = await runStage(
              runDir,
              `generative-${variant}`,
              genCfg,
              { data: data.hash, sasrec: collabKey, embeddings: emb.hash, rqvae: rqStage.hash },
              (ctx) =>
                runGenerative(ctx, genCfg, {
                  dataset,
                  tables,
                  rqvaeExportDir: resolve(rqStage.dir, 'mm-rqvae-mmd-export'),
                  llamaDir,
                }),
              log,
              lockOpts,
            );
            stageSeconds[`generative ${variant}`] = gen.seconds;
            stageDirs.set(variant, gen.dir); // MOTOR saves per-user ranks (the decoding rows are sampled)
            results.push(gen.summary);
            continue;
          }
          const ftCfg = { variant, ...ftBase };
          const ft = await runStage(
            runDir,
            `finetune-${variant.replace(/[^A-Za-z0-9-]/g, '_')}`,
            ftCfg,
            ftInputs,
            (ctx) =>
              runFinetune(
                ctx,
                ftCfg,
                {
                  dataset,
                  tables,
                  rqvaeExportDir: resolve(rqStage.dir, 'mm-rqvae-mmd-export'),
                  ...(mseExportDir ? { mseExportDir } : {}),
                  llamaDir,
                },
                p.guardMinutes.finetune,
                every,
              ),
            log,
            lockOpts,
          );
          stageSeconds[`finetune ${variant}`] = ft.seconds;
          results.push(ft.summary);
          stageDirs.set(ft.summary.variant, ft.dir);
        }
      }
    }
  }

  if (!needEmbeddings) ftInputs = cachedFinetuneInputs();
  if (ftInputs) {
    const ran = new Set(results.map((r) => r.variant));
    for (const rec of finishedStages<VariantResult>(
      runDir,
      'finetune-',
      ftInputs,
      (c) => {
        const { variant: _v, ...rest } = c as Record<string, unknown>;
        return rest;
      },
      ftBase,
    ))
      if (!ran.has(rec.summary.variant)) {
        results.push(rec.summary);
        stageSeconds[`finetune ${rec.summary.variant}`] = rec.seconds;
        stageDirs.set(rec.summary.variant, rec.dir);
        ran.add(rec.summary.variant);
        log(
          `[report] ${rec.summary.variant}: finished earlier in this run directory (${rec.dir}), kept in the report`,
        );
      }
  }

  /** The inputs of this pipeline's fine-tuning stages when its earlier stages finished before. */
  function cachedFinetuneInputs(): Record<string, string> | undefined {
    if (opts === 'help') return undefined;
    const collabKey = authors ? `authors:${authors}` : sasrec?.hash;
    if (!collabKey) return undefined;
    const embCfg = embeddingsConfig(opts, p.text.dim, visual !== null);
    const emb = cachedStage(runDir, 'embeddings', embCfg, { data: data.hash });
    if (!emb) return undefined;
    const rqs = cachedStage<RqvaeSummary>(runDir, 'rqvae', rqCfg, {
      sasrec: collabKey,
      embeddings: emb.hash,
    });
    if (!rqs) return undefined;
    rq = { ...rqs, cached: true };
    rqExtras = cachedStage<RqvaeExtrasSummary>(runDir, 'rqvae-extras', rqExtrasCfg, {
      rqvae: rqs.hash,
    })?.summary;
    return { data: data.hash, sasrec: collabKey, embeddings: emb.hash, rqvae: rqs.hash };
  }

  // 5b. With --bench: the SASRec and popularity rows' ranking time (Sec. 4.4), a stage of its own so
  // that a finished sasrec stage is reused unchanged (it reloads the model from its checkpoint).
  const rankTiming =
    sasrec && opts.bench
      ? await runStage(
          runDir,
          'ranking-timing',
          { batchSize: RANKING_TIMING_BATCH },
          { sasrec: sasrec.hash },
          (ctx) => runRankingTiming(ctx, sasrec, dataset),
          log,
          lockOpts,
        )
      : undefined;
  if (rankTiming) stageSeconds['ranking-timing'] = rankTiming.seconds;
  const fullRanking = (t: RankingTiming | undefined) =>
    t ? { retrieval: { kind: 'full ranking' as const, msPerUser: t.msPerUser, users: t.users } } : {};

  // 6. report.
  const baselines: VariantResult[] = [];
  // Where the SASRec and popularity rows' per-user ranks are (the sasrec stage, or its backfill).
  let sasrecRanksDir = sasrec?.dir;
  if (sasrec && (variants.includes('SASRec') || !opts.variants))
    baselines.push({
      variant: 'SASRec',
      metrics: sasrec.summary.test,
      trainSeconds: sasrec.summary.trainSeconds,
      ...fullRanking(rankTiming?.summary.sasrec),
    });
  if (sasrec)
    baselines.push({
      variant: 'Popularity',
      metrics: sasrec.summary.popularity,
      ...fullRanking(rankTiming?.summary.popularity),
    });
  // Rows on a sample of the test users (the semantic-ID baselines' beam search): every other row
  // gets its metrics on the same users from its saved per-user ranks.
  const sameUsersNotes: string[] = [];
  const sample = sharedSample([...baselines, ...results]);
  if (sample) {
    if (sample.seed !== EVAL_SAMPLE_SEED)
      throw new Error(`a row's user sample has seed "${sample.seed}", this code draws "${EVAL_SAMPLE_SEED}"`);
    // 6a. Stages that finished before stages saved per-user ranks: their models are evaluated again
    // from what they saved, in stages keyed on them (src/stages/ranks.ts), leaving their keys alone.
    const backfilled: string[] = [];
    const noteBackfill = (row: VariantResult | undefined, b: RanksBackfill) => {
      if (row) row.ranksBackfill = b;
      backfilled.push(describeCheck(row?.variant ?? '?', b));
    };
    if (sasrec && !existsSync(resolve(sasrec.dir, TEST_RANKS_FILE))) {
      const st = await runStage(
        runDir,
        SASREC_RANKS_STAGE,
        SASREC_RANKS_CONFIG,
        { sasrec: sasrec.hash },
        (ctx) => runSasrecRanks(ctx, sasrec, dataset),
        log,
        lockOpts,
      );
      stageSeconds[SASREC_RANKS_STAGE] = st.seconds;
      sasrecRanksDir = st.dir;
      noteBackfill(
        baselines.find((b) => b.variant === 'SASRec'),
        st.summary.sasrec,
      );
      noteBackfill(
        baselines.find((b) => b.variant === 'Popularity'),
        st.summary.popularity,
      );
    }
    for (const row of results) {
      const dir = stageDirs.get(row.variant);
      if (row.sample || !dir || existsSync(resolve(dir, TEST_RANKS_FILE))) continue;
      const stage = finetuneRanksStage(basename(dirname(dir)));
      const st = await runStage(
        runDir,
        stage,
        FINETUNE_RANKS_CONFIG,
        { finetune: basename(dir) },
        (ctx) => runFinetuneRanks(ctx, { dir, summary: row }, dataset),
        log,
        lockOpts,
      );
      stageSeconds[stage] = st.seconds;
      stageDirs.set(row.variant, st.dir);
      noteBackfill(row, st.summary);
    }
    if (backfilled.length)
      sameUsersNotes.push(
        `Per-user ranks evaluated again from the saved models of stages that finished before ranks were saved (ranks-* stages; the table's metrics stay the stored ones): ${backfilled.join('; ')}.`,
      );
    const missingRanks = attachSampleMetrics(
      [...baselines, ...results],
      sample,
      evalUserIndices(sample.of, sample.users),
      (variant) => {
        const dir =
          variant === 'SASRec' || variant === 'Popularity' ? sasrecRanksDir : stageDirs.get(variant);
        return dir
          ? loadRanks(resolve(dir, variant === 'Popularity' ? POPULARITY_RANKS_FILE : TEST_RANKS_FILE))
          : undefined;
      },
    );
    sameUsersNotes.push(
      `The semantic-ID baselines decode ${sample.users} of ${sample.of} test users (a fixed seeded sample); the full-ranking rows are also reported on those users (their per-user ranks restricted to them), so that rows are compared on the same users.${missingRanks.length ? ` No per-user ranks (stage finished before they were saved): ${missingRanks.join(', ')}.` : ''}`,
    );
  }
  const input: ReportInput = {
    title: `MME-SID reproduction: ${data.summary.name}`,
    dataset: data.summary,
    settings: {
      preset: opts.preset,
      backend: `${choice.name}${choice.nativeBlas ? ` (matmuls: native BLAS ${choice.nativeBlas})` : ''}`,
      seed: opts.seed,
      llm: llamaDir ?? 'seeded random tiny Llama',
      'collaborative modality': authors
        ? `${collaborativeTableLabel(opts.dataset)} (${authors})`
        : 'the table of the SASRec trained in this run',
      'text encoder': textEncoder,
      visual: visualNote,
      'fine-tuning mode': results[0]?.mode ?? '–',
      'Table 4 row': p.table4,
    },
    variants: results,
    baselines,
    ...(rq ? { rqvae: { ...rq.summary.reports, ...(rqExtras?.reports ?? {}) } } : {}),
    embeddings: { text: textEncoder },
    wallSeconds: (performance.now() - t0) / 1000,
    stageSeconds,
    notes: [
      ...p.notes.map((n) => `Preset ${opts.preset}: ${n}.`),
      ...missing.map((m) => `Dataset: ${m}.`),
      'Scores rank all items (index 0 included, as the authors do); items of the input history are excluded; ties count against the target.',
      `The LLM here is ${llamaLabel(llamaDir)}, not Llama3-8B: compare orderings, not magnitudes.`,
      ...sameUsersNotes,
    ],
  };
  const report = writeReport(runDir, input, opts.dataset);
  log(`[reproduce] report: ${report}`);
  if (opts.bench && opts.benchRecord) {
    const resultsDir = resolve(REPO_ROOT, 'benchmarks/results');
    mkdirSync(resultsDir, { recursive: true });
    const file = resolve(resultsDir, `reproduce-${opts.dataset}.json`);
    writeFileAtomic(
      file,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          command: process.argv.slice(2).join(' '),
          runDir,
          machine: { cores: cpus().length, cpu: cpus()[0]?.model, loadAverage: loadavg() },
          // The budgets (epochs, steps, users) and the time guards that only fail a stage.
          preset: p,
          ...input,
        },
        null,
        2,
      )}\n`,
    );
    // The report and its figures beside the JSON (run directories are not committed).
    const copyDir = resolve(resultsDir, `reproduce-${opts.dataset}`);
    mkdirSync(copyDir, { recursive: true });
    for (const name of ['report.md', 'ndcg.svg', 'singular-values.svg'])
      if (existsSync(resolve(runDir, name))) copyFileSync(resolve(runDir, name), resolve(copyDir, name));
    log(`[reproduce] benchmark figures: ${file} (report in ${copyDir})`);
  }
  if (!existsSync(report)) throw new Error('report was not written');
}

/** Errors whose message says all a user needs (file, place, what to do): no stack trace. */
function isTyped(e: unknown): e is Error {
  if (!(e instanceof Error)) return false;
  if (e instanceof RunDirError || e instanceof LockWaitError) return true;
  // Typed errors of the @mmesid packages (MmesidError, DatasetError and their subclasses), and
  // file-system errors, which name their path.
  let proto = Object.getPrototypeOf(e);
  while (proto && proto !== Error.prototype) {
    if (['MmesidError', 'DatasetError'].includes(proto.constructor?.name)) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return typeof (e as NodeJS.ErrnoException).path === 'string';
}

try {
  await main();
  process.exit(0);
} catch (e) {
  // The WASM runtime re-throws unhandled errors with its whole source attached: print ours plainly.
  const text = isTyped(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  console.error(`reproduce failed: ${text}`);
  process.exit(1);
}
