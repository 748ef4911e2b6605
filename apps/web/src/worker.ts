/**
 * The inference worker (a module worker): owns the tfjs backend and the model, so downloading,
 * building and scoring never block the page. WebGPU and WASM both run in dedicated workers.
 */
import { Engine } from './engine.js';
import type { LoadProgress, Reply, RequestEnvelope } from './protocol.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<RequestEnvelope>) => void) | null;
  postMessage(message: Reply): void;
}

const scope = self as unknown as WorkerScope;
const engine = new Engine({ inWorker: true });
// Requests run one at a time, in arrival order (the model is not re-entrant).
let queue: Promise<void> = Promise.resolve();

/** Progress at most every 50 ms, plus every phase change. */
function throttled(id: number): (p: LoadProgress) => void {
  let last = 0;
  let phase = '';
  return (p) => {
    const now = performance.now();
    if (p.phase === phase && now - last < 50 && p.loaded < p.total) return;
    last = now;
    phase = p.phase;
    scope.postMessage({ id, kind: 'progress', progress: p });
  };
}

scope.onmessage = (e) => {
  const { id, request } = e.data;
  queue = queue.then(async () => {
    try {
      const result = await engine.handle(request, throttled(id));
      scope.postMessage({ id, kind: 'result', result });
    } catch (err) {
      const error =
        err instanceof Error
          ? { name: err.name, message: err.message }
          : { name: 'Error', message: String(err) };
      scope.postMessage({ id, kind: 'error', error });
    }
  });
};
