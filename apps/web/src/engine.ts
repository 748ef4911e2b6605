/**
 * What runs beside the model (in the worker, or on the page's thread when no worker can start):
 * starts a backend, loads a run through `@mmesid/fusion`'s `loadRunFromFiles`, and answers
 * recommendation requests with fusion's `recommend` (and `evaluateMmeSid` for a held-out rank).
 * The page owns no model code: every number shown comes from these calls.
 */
import { evaluateMmeSid, loadRunFromFiles, type MmeSidModel, recommend } from '@mmesid/fusion';
import { type BackendName, MmesidError, tf } from '@mmesid/tensor';
import { startBackend } from './backends.js';
import type {
  BackendInfo,
  LoadProgress,
  RankResult,
  RecommendResult,
  Request,
  RunInfo,
  RunSource,
} from './protocol.js';
import { readRunData } from './run-data.js';
import { downloadRun } from './run-download.js';
import { describeSource, openerFor, readAll } from './run-files.js';

type GpuAdapterInfo = { vendor?: string; architecture?: string; description?: string; device?: string };
type GpuLike = { requestAdapter(): Promise<{ info?: GpuAdapterInfo } | null> };

async function describeAdapter(): Promise<string | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const i = adapter?.info;
  if (!i) return undefined;
  const text = [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0).join(' ');
  return text || undefined;
}

/** The state of one inference context: its backend and the loaded run. */
export class Engine {
  private backend: BackendInfo | undefined;
  private model: MmeSidModel | undefined;

  constructor(private readonly place: { inWorker: boolean; workerNote?: string }) {}

  /** Starts the best backend (or `backend` when given). Later calls return the first answer. */
  async init(backend?: BackendName): Promise<BackendInfo> {
    if (this.backend) return this.backend;
    const choice = await startBackend(backend);
    const adapter = choice.name === 'webgpu' ? await describeAdapter() : undefined;
    this.backend = {
      name: choice.name,
      // Node-only backends are tried last in a worker (it has no `window`); they are not news.
      skipped: choice.skipped.filter((s) => s.name !== 'tfjs-node' && s.name !== 'tfjs-node-gpu'),
      ...(adapter ? { adapter } : {}),
      inWorker: this.place.inWorker,
      ...(this.place.workerNote ? { workerNote: this.place.workerNote } : {}),
    };
    return this.backend;
  }

  /** Downloads a run, builds the model on the active backend, and makes one warm-up request. */
  async load(source: RunSource, onProgress: (p: LoadProgress) => void): Promise<RunInfo> {
    if (!this.backend) await this.init();
    const open = openerFor(source);
    const dl = await downloadRun(open, onProgress);
    const filesTotal = dl.files.size;
    onProgress({ phase: 'build', loaded: dl.bytes, total: dl.bytes, filesDone: filesTotal, filesTotal });
    const t0 = performance.now();
    const model = await loadRunFromFiles(async (path) => {
      const bytes = dl.files.get(path);
      if (bytes) {
        dl.files.delete(path); // read once; frees the download as the tensors are made
        return bytes;
      }
      const f = await open(path);
      if (!f) throw new MmesidError(`${path} not found in the run folder (${describeSource(source)})`);
      return readAll(f.stream, f.size, () => {});
    });
    const buildMs = performance.now() - t0;
    this.model?.dispose();
    this.model = model;
    const data = readRunData(dl.files, model.numItems);
    dl.files.clear();
    onProgress({ phase: 'warmup', loaded: dl.bytes, total: dl.bytes, filesDone: filesTotal, filesTotal });
    const t1 = performance.now();
    await recommend(model, [1], 1);
    const warmupMs = performance.now() - t1;
    const cfg = model.config;
    return {
      origin: describeSource(source),
      numItems: model.numItems,
      terms: model.termNames,
      hidden: model.hidden,
      layers: model.llm.config.num_hidden_layers,
      head: cfg.head,
      modalities: [...cfg.modalities],
      metadata: dl.manifest.metadata ?? {},
      titles: data.titles,
      imageUrls: data.imageUrls,
      testUsers: data.testUsers,
      dataNotes: data.notes,
      bytes: dl.bytes,
      downloadMs: dl.ms,
      buildMs,
      warmupMs,
    };
  }

  private loaded(): MmeSidModel {
    if (!this.model) throw new MmesidError('no run is loaded yet');
    return this.model;
  }

  /** Top-k items for a history with their scores and fusion weights (fusion's `recommend`). */
  async recommend(history: number[], k: number): Promise<RecommendResult> {
    const model = this.loaded();
    const t0 = performance.now();
    const rec = await recommend(model, history, k);
    return {
      history,
      items: rec.items,
      scores: rec.scores,
      terms: rec.terms,
      weights: rec.weights,
      recommendMs: performance.now() - t0,
      liveTensors: tf.memory().numTensors,
    };
  }

  /**
   * The held-out item's full-ranking rank (fusion's `evaluateMmeSid` on one pair). It scores the
   * history again: `recommend` returns only the top k.
   */
  async rank(history: number[], target: number): Promise<RankResult> {
    const model = this.loaded();
    const t0 = performance.now();
    const ev = await evaluateMmeSid(model, [{ history, target }], { batchSize: 1, ks: [1] });
    return { history, item: target, rank: ev.ranks[0]!, ms: performance.now() - t0 };
  }

  /** Runs one request. */
  handle(request: Request, onProgress: (p: LoadProgress) => void): Promise<unknown> {
    switch (request.type) {
      case 'init':
        return this.init(request.backend);
      case 'load':
        return this.load(request.source, onProgress);
      case 'recommend':
        return this.recommend(request.history, request.k);
      case 'rank':
        return this.rank(request.history, request.target);
    }
  }
}
