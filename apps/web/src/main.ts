/**
 * The page: starts inference (module worker first), loads a run from `?run=<url>`, a typed URL or
 * a picked folder, lets the user build a history, and shows the top 10 with scores, fusion weights,
 * timings and, for a test user, the held-out item's rank.
 *
 * URL parameters: `run` (a run folder URL, relative to the page or absolute), `backend`
 * (`webgpu`, `wasm` or `cpu`: use only that one), `worker=0` (run inference on the page thread).
 */
import type { BackendName } from '@mmesid/tensor';
import { Catalog, idOnlyCatalog } from './catalog.js';
import { InferenceClient, RemoteError } from './client.js';
import {
  type BackendInfo,
  PAGE_BACKENDS,
  type RankResult,
  type RunInfo,
  type RunSource,
  type TestUser,
} from './protocol.js';
import { findRunRoots, runFolderUrl } from './run-location.js';
import { renderBackend, renderBackendError } from './ui/backend-badge.js';
import { byId, h } from './ui/dom.js';
import { formatBytes, formatMs } from './ui/format.js';
import { renderHistory, renderSearchHits } from './ui/history.js';
import { finishProgress, renderProgress } from './ui/progress.js';
import { renderRecommendations } from './ui/recommendations.js';

const K = 10;

const el = {
  backend: byId('backend'),
  urlForm: byId<HTMLFormElement>('url-form'),
  runUrl: byId<HTMLInputElement>('run-url'),
  runFolder: byId<HTMLInputElement>('run-folder'),
  runRoot: byId<HTMLSelectElement>('run-root'),
  loadBar: byId<HTMLProgressElement>('load-bar'),
  loadStatus: byId('load-status'),
  runInfo: byId('run-info'),
  search: byId<HTMLInputElement>('search'),
  hits: byId('search-hits'),
  userIndex: byId<HTMLInputElement>('user-index'),
  userCount: byId('user-count'),
  userPick: byId<HTMLButtonElement>('user-pick'),
  userRandom: byId<HTMLButtonElement>('user-random'),
  historyClear: byId<HTMLButtonElement>('history-clear'),
  history: byId('history'),
  timing: byId('timing'),
  heldOut: byId('held-out'),
  recs: byId('recs'),
  error: byId('error'),
};

const state: {
  client?: InferenceClient;
  backend?: BackendInfo;
  run?: RunInfo;
  catalog: Catalog;
  history: number[];
  /** The test user whose history is shown, until the history is edited. */
  testUser?: TestUser;
  loading: boolean;
} = { catalog: idOnlyCatalog(0), history: [], loading: false };

function showError(e: unknown): void {
  el.error.textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function pageHasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator;
}

/** The worker client, or the in-page one when no worker can start (or WebGPU only exists on the page). */
async function startInference(
  forced: BackendName | undefined,
  noWorker: boolean,
): Promise<{ client: InferenceClient; backend: BackendInfo }> {
  let note: string;
  if (noWorker) note = 'turned off with ?worker=0';
  else if (typeof Worker === 'undefined') note = 'this browser has no Web Workers';
  else {
    let client: InferenceClient | undefined;
    try {
      client = await InferenceClient.inWorker();
      const backend = await client.init(forced);
      if (backend.name !== 'webgpu' && !forced && pageHasWebGpu()) {
        // Some browsers expose WebGPU to pages but not to workers: then the page thread is the better place.
        const why = backend.skipped.find((s) => s.name === 'webgpu')?.reason ?? 'not available';
        const inPage = await InferenceClient.inPage(
          `WebGPU did not start in the worker (${why}) but the page has it`,
        );
        const pageBackend = await inPage.init().catch(() => undefined);
        if (pageBackend?.name === 'webgpu') {
          client.dispose();
          return { client: inPage, backend: pageBackend };
        }
      }
      return { client, backend };
    } catch (e) {
      if (e instanceof RemoteError) throw e; // the worker ran and the backend said no: same answer on the page
      client?.dispose();
      note = `the module worker could not start (${errorText(e)})`;
    }
  }
  const client = await InferenceClient.inPage(note);
  return { client, backend: await client.init(forced) };
}

function setControls(enabled: boolean): void {
  el.search.disabled = !enabled;
  el.historyClear.disabled = !enabled;
  const users = enabled && (state.run?.testUsers?.length ?? 0) > 0;
  el.userIndex.disabled = !users;
  el.userPick.disabled = !users;
  el.userRandom.disabled = !users;
}

/** The exporter's test metrics (`metadata.metrics`, e.g. from apps/reproduce), when there are any. */
function testMetrics(meta: Record<string, unknown>): [string, string][] {
  const m = meta.metrics as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object') return [];
  const parts = ['HR@10', 'NDCG@10']
    .filter((k) => typeof m[k] === 'number')
    .map((k) => `${k} ${(m[k] as number).toFixed(4)}`);
  if (!parts.length) return [];
  const users = typeof m.users === 'number' ? ` (${m.users} test users, in Node)` : '';
  return [['test metrics', `${parts.join(' · ')}${users}`]];
}

function renderRunInfo(run: RunInfo): void {
  const meta = run.metadata;
  const variant = typeof meta.variant === 'string' ? meta.variant : undefined;
  const dataset = typeof meta.dataset === 'string' ? meta.dataset : undefined;
  const rows: [string, string][] = [
    ['run', run.origin],
    ...(variant ? ([['variant', variant]] as [string, string][]) : []),
    ...(dataset ? ([['dataset', dataset]] as [string, string][]) : []),
    ...testMetrics(meta),
    ['items', String(run.numItems)],
    ['LLM', `${run.layers} layers, d = ${run.hidden}`],
    ['head', `${run.head} over ${run.terms.join(', ')}`],
    ['weights', `${formatBytes(run.bytes)} in ${formatMs(run.downloadMs)}`],
    ['build', formatMs(run.buildMs)],
    ['warm-up', formatMs(run.warmupMs)],
    ['test users', run.testUsers ? String(run.testUsers.length) : 'none'],
  ];
  el.runInfo.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  Object.assign(el.runInfo.dataset, {
    bytes: String(run.bytes),
    downloadMs: String(run.downloadMs),
    buildMs: String(run.buildMs),
    warmupMs: String(run.warmupMs),
    numItems: String(run.numItems),
  });
  if (run.dataNotes.length) el.runInfo.append(h('dt', {}, 'notes'), h('dd', {}, run.dataNotes.join('; ')));
}

function historyChanged(keepTestUser = false): void {
  if (!keepTestUser) state.testUser = undefined;
  renderHistory(el.history, state.history, state.catalog, (i) => {
    state.history.splice(i, 1);
    historyChanged();
  });
  // What is shown no longer answers the history until the new request returns.
  el.recs.dataset.status = 'pending';
  renderHeldOut(state.testUser);
  requestRecommendations();
}

// Requests go out one at a time; edits made meanwhile coalesce into one follow-up request.
let busy = false;
let dirty = false;

function requestRecommendations(): void {
  dirty = true;
  if (!busy) void pump();
}

/** The held-out line of a test user: pending while its rank is computed, then the rank. */
function renderHeldOut(user: TestUser | undefined, r?: RankResult): void {
  if (!user) {
    el.heldOut.hidden = true;
    el.heldOut.dataset.status = 'idle';
    return;
  }
  const item = user.target;
  el.heldOut.hidden = false;
  el.heldOut.dataset.item = String(item);
  const head = [
    h('b', {}, `Test user ${user.user}`),
    ': the held-out item ',
    h('i', {}, state.catalog.title(item)),
    ` (#${item}) `,
  ];
  if (!r) {
    el.heldOut.dataset.status = 'busy';
    el.heldOut.dataset.rank = '';
    el.heldOut.className = 'held-out held-out-miss';
    el.heldOut.replaceChildren(...head, 'ranks … (scoring all items)');
    return;
  }
  const candidates = state.run!.numItems - new Set(r.history).size;
  el.heldOut.dataset.status = 'done';
  el.heldOut.dataset.rank = String(r.rank);
  el.heldOut.dataset.ms = String(r.ms);
  el.heldOut.className = `held-out ${r.rank <= K ? 'held-out-hit' : 'held-out-miss'}`;
  el.heldOut.replaceChildren(
    ...head,
    'ranks ',
    h('b', { class: 'rank' }, String(r.rank)),
    ` of ${candidates} items not in the history${r.rank <= K ? ` (in the top ${K})` : ''}`,
    h('span', { class: 'muted' }, ` · ${formatMs(r.ms)}`),
  );
}

async function pump(): Promise<void> {
  busy = true;
  while (dirty && state.client && state.run) {
    dirty = false;
    const history = [...state.history];
    const user = state.testUser;
    if (history.length === 0) {
      el.recs.dataset.status = 'idle';
      el.recs.dataset.history = '';
      el.recs.replaceChildren(
        h('li', { class: 'empty' }, 'Add items to the history to see recommendations.'),
      );
      renderHeldOut(undefined);
      el.timing.textContent = '';
      continue;
    }
    el.recs.dataset.status = 'busy';
    el.timing.textContent = 'Scoring every item…';
    try {
      const t0 = performance.now();
      const r = await state.client.recommend(history, K);
      const roundTrip = performance.now() - t0;
      if (dirty) continue; // the history changed meanwhile: the next turn answers the new one
      renderRecommendations(el.recs, r, state.catalog, state.run.imageUrls, user?.target);
      const where = state.backend?.inWorker ? 'worker' : 'page thread';
      el.timing.replaceChildren(
        h('b', {}, formatMs(r.recommendMs)),
        ` per request: ${state.backend?.name} in the ${where}, scoring all ${state.run.numItems} items, top ${K} and fusion weights`,
        h('span', { class: 'muted' }, ` · round trip ${formatMs(roundTrip)}`),
      );
      el.timing.dataset.recommendMs = String(r.recommendMs);
      el.timing.dataset.roundTripMs = String(roundTrip);
      el.recs.dataset.history = r.history.join(',');
      el.recs.dataset.target = user ? String(user.target) : '';
      el.recs.dataset.liveTensors = String(r.liveTensors);
      el.recs.dataset.status = 'done';
      el.error.textContent = '';
      renderHeldOut(user);
      if (user) {
        const rank = await state.client.rank(history, user.target);
        if (!dirty && state.testUser === user) renderHeldOut(user, rank);
      }
    } catch (e) {
      el.recs.dataset.status = 'error';
      el.timing.textContent = '';
      showError(e);
    }
  }
  busy = false;
}

async function loadRun(source: RunSource): Promise<void> {
  if (!state.client || state.loading) return;
  state.loading = true;
  setControls(false);
  el.error.textContent = '';
  el.loadStatus.classList.remove('error');
  try {
    const run = await state.client.load(source, (p) => renderProgress(el.loadBar, el.loadStatus, p));
    state.run = run;
    state.catalog = run.titles ? new Catalog(run.titles) : idOnlyCatalog(run.numItems);
    state.history = [];
    state.testUser = undefined;
    el.userCount.textContent = `of ${run.testUsers?.length ?? 0}`;
    el.userIndex.max = String(run.testUsers?.length ?? 1);
    renderRunInfo(run);
    finishProgress(
      el.loadBar,
      el.loadStatus,
      `Loaded ${run.numItems} items, ${formatBytes(run.bytes)}.`,
      true,
    );
    el.search.value = '';
    el.hits.replaceChildren();
    historyChanged();
    setControls(true);
  } catch (e) {
    finishProgress(el.loadBar, el.loadStatus, `Could not load the run: ${errorText(e)}`, false);
    if (state.run) setControls(true);
  } finally {
    state.loading = false;
  }
}

function pickTestUser(index: number): void {
  const users = state.run?.testUsers;
  if (!users?.length) return;
  const i = Math.min(Math.max(1, Math.round(index)), users.length);
  el.userIndex.value = String(i);
  const u = users[i - 1]!;
  state.history = [...u.history];
  state.testUser = u;
  historyChanged(true);
}

function wire(): void {
  el.urlForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const raw = el.runUrl.value.trim();
    if (!raw) return;
    let url: string;
    try {
      url = runFolderUrl(raw, location.href);
    } catch {
      showError(new Error(`"${raw}" is not a URL`));
      return;
    }
    const page = new URL(location.href);
    page.searchParams.set('run', raw);
    history.replaceState(null, '', page);
    void loadRun({ kind: 'url', url });
  });
  let picked: File[] = [];
  el.runFolder.addEventListener('change', () => {
    picked = Array.from(el.runFolder.files ?? []);
    const roots = findRunRoots(picked.map((f) => f.webkitRelativePath || f.name));
    if (roots.length === 0) {
      finishProgress(
        el.loadBar,
        el.loadStatus,
        'The picked folder holds no run.json: pick the folder written by exportRun, or a parent of it.',
        false,
      );
      el.runRoot.hidden = true;
      return;
    }
    el.runRoot.replaceChildren(...roots.map((r) => h('option', { value: r }, r || '(the picked folder)')));
    el.runRoot.hidden = roots.length < 2;
    void loadRun({ kind: 'files', files: picked, root: roots[0]! });
  });
  el.runRoot.addEventListener(
    'change',
    () => void loadRun({ kind: 'files', files: picked, root: el.runRoot.value }),
  );
  el.search.addEventListener('input', () => {
    const q = el.search.value;
    renderSearchHits(el.hits, state.catalog.search(q), q, (id) => {
      state.history.push(id);
      historyChanged();
    });
  });
  el.search.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const first = state.catalog.search(el.search.value, 1)[0];
    if (first) {
      state.history.push(first.id);
      historyChanged();
    }
  });
  el.userPick.addEventListener('click', () => pickTestUser(Number(el.userIndex.value)));
  el.userIndex.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') pickTestUser(Number(el.userIndex.value));
  });
  el.userRandom.addEventListener('click', () =>
    pickTestUser(1 + Math.floor(Math.random() * (state.run?.testUsers?.length ?? 1))),
  );
  el.historyClear.addEventListener('click', () => {
    state.history = [];
    historyChanged();
  });
}

async function main(): Promise<void> {
  wire();
  const params = new URLSearchParams(location.search);
  const requested = params.get('backend') ?? undefined;
  if (requested && !PAGE_BACKENDS.includes(requested as BackendName)) {
    renderBackendError(el.backend, `?backend=${requested}: expected one of ${PAGE_BACKENDS.join(', ')}`);
    return;
  }
  try {
    const { client, backend } = await startInference(
      requested as BackendName | undefined,
      params.get('worker') === '0',
    );
    state.client = client;
    state.backend = backend;
    renderBackend(el.backend, backend);
  } catch (e) {
    renderBackendError(el.backend, errorText(e));
    return;
  }
  const run = params.get('run');
  if (run) {
    el.runUrl.value = run;
    let url: string;
    try {
      url = runFolderUrl(run, location.href);
    } catch {
      showError(new Error(`?run=${run} is not a URL`));
      return;
    }
    await loadRun({ kind: 'url', url });
  }
}

void main();
