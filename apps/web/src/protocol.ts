/**
 * Messages between the page and the inference worker. Everything here is structured-cloneable:
 * `File` objects cross to the worker as they are, and results come back as plain arrays.
 */
import type { BackendName } from '@mmesid/tensor';

/** The backends a browser can run, best first (the order `initBackend` is asked to try them in). */
export const PAGE_BACKENDS: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

/** Where a run's files come from. */
export type RunSource =
  /** A folder on a web server; `url` is absolute and ends with `/` (the folder holding `run.json`). */
  | { kind: 'url'; url: string }
  /**
   * Files the user picked with `<input type=file webkitdirectory>`; `root` is the prefix of
   * `webkitRelativePath` up to and including the folder that holds `run.json` (e.g. `out/export/`).
   */
  | { kind: 'files'; files: File[]; root: string };

/** What the worker is asked to do. */
export type Request =
  | { type: 'init'; backend?: BackendName }
  | { type: 'load'; source: RunSource }
  | { type: 'recommend'; history: number[]; k: number }
  | { type: 'rank'; history: number[]; target: number };

/** The backend that runs inference, and why better ones were not used. */
export interface BackendInfo {
  name: BackendName;
  skipped: { name: BackendName; reason: string }[];
  /** GPU adapter (vendor, architecture, description) when WebGPU runs. */
  adapter?: string;
  /** True when inference runs in the module worker, false when it had to run on the page's thread. */
  inWorker: boolean;
  /** Why inference is not in a worker, when it is not. */
  workerNote?: string;
}

/** A loading step, for the progress bar. */
export interface LoadProgress {
  phase: 'manifest' | 'download' | 'build' | 'warmup';
  /** Bytes received so far (download) or 0. */
  loaded: number;
  /** Bytes expected (download; grows while servers that send no length are read) or 0. */
  total: number;
  /** The file being read, when one is. */
  file?: string;
  filesDone: number;
  filesTotal: number;
}

/** One test user of the run's dataset (the leave-one-out test pair). */
export interface TestUser {
  /** The user id of the dataset's `sequences.txt`. */
  user: string;
  history: number[];
  /** The held-out item. */
  target: number;
}

/** What the page needs to know about a loaded run. */
export interface RunInfo {
  /** Where it was loaded from (a URL or the picked folder's name). */
  origin: string;
  numItems: number;
  /** Names of the fusion terms, the columns of every `weights` row. */
  terms: string[];
  /** LLM width d and depth. */
  hidden: number;
  layers: number;
  /** Scoring head (`fusion`, `target`, `equal`) and modalities from the run's config. */
  head: string;
  modalities: string[];
  /** `run.json`'s metadata as exported (variant, metrics, dataset...). */
  metadata: Record<string, unknown>;
  /** Item titles and image URLs indexed by item id (index 0 is padding), when the run has `data/items.csv`. */
  titles: string[] | null;
  imageUrls: string[] | null;
  /** Leave-one-out test users, when the run has `data/sequences.txt`. */
  testUsers: TestUser[] | null;
  /** Why titles or test users are missing, when they are. */
  dataNotes: string[];
  bytes: number;
  downloadMs: number;
  buildMs: number;
  /** The first request (shader compilation on WebGPU), made right after loading. */
  warmupMs: number;
}

/** The answer to a `recommend` request. */
export interface RecommendResult {
  history: number[];
  /** Item ids, best first; history items never appear. */
  items: number[];
  scores: number[];
  terms: string[];
  /** Fusion weights of each recommended item over `terms` (rows sum to 1). */
  weights: number[][];
  /** Milliseconds in the worker: scoring every item, top-k and fusion weights (`recommend`). */
  recommendMs: number;
  /** Live tensors after the request (constant across requests unless something leaks). */
  liveTensors: number;
}

/** The answer to a `rank` request: where a test user's held-out item ranks. */
export interface RankResult {
  history: number[];
  item: number;
  /**
   * 1 = best, among every item id except the held-out item and the history (ties count against it;
   * `evaluateMmeSid`'s full-ranking protocol, the paper's HR/nDCG).
   */
  rank: number;
  ms: number;
}

/** Page -> worker. */
export interface RequestEnvelope {
  id: number;
  request: Request;
}

/** Worker -> page: a result, an error, or a progress event of a pending request. */
export type Reply =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; error: { name: string; message: string } }
  | { id: number; kind: 'progress'; progress: LoadProgress };
