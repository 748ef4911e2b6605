/**
 * The page's handle on inference: requests go to the module worker, or, when no worker can start
 * (an old browser, a blocked worker script), to an {@link Engine} on the page's own thread. Both
 * answer the same {@link Request}s.
 */

import type { BackendName } from '@mmesid/tensor';
import type {
  BackendInfo,
  LoadProgress,
  RankResult,
  RecommendResult,
  Reply,
  Request,
  RequestEnvelope,
  RunInfo,
  RunSource,
} from './protocol.js';

/** An error raised inside the worker, with its original class name. */
export class RemoteError extends Error {
  constructor(
    readonly remoteName: string,
    message: string,
  ) {
    super(message);
    this.name = remoteName;
  }
}

type Send = (request: Request, onProgress: (p: LoadProgress) => void) => Promise<unknown>;

/** Typed requests over a worker or an in-page engine. */
export class InferenceClient {
  private constructor(
    private readonly send: Send,
    /** Stops the worker (no-op in the page). */
    readonly dispose: () => void,
  ) {}

  init(backend?: BackendName): Promise<BackendInfo> {
    return this.send(
      backend ? { type: 'init', backend } : { type: 'init' },
      () => {},
    ) as Promise<BackendInfo>;
  }

  load(source: RunSource, onProgress: (p: LoadProgress) => void): Promise<RunInfo> {
    return this.send({ type: 'load', source }, onProgress) as Promise<RunInfo>;
  }

  recommend(history: number[], k: number): Promise<RecommendResult> {
    return this.send({ type: 'recommend', history, k }, () => {}) as Promise<RecommendResult>;
  }

  rank(history: number[], target: number): Promise<RankResult> {
    return this.send({ type: 'rank', history, target }, () => {}) as Promise<RankResult>;
  }

  /** A client over the module worker. Rejects when the worker script cannot start. */
  static async inWorker(): Promise<InferenceClient> {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'mmesid-inference',
    });
    let next = 1;
    const pending = new Map<
      number,
      { resolve: (v: unknown) => void; reject: (e: Error) => void; progress: (p: LoadProgress) => void }
    >();
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const r = e.data;
      const p = pending.get(r.id);
      if (!p) return;
      if (r.kind === 'progress') p.progress(r.progress);
      else {
        pending.delete(r.id);
        if (r.kind === 'result') p.resolve(r.result);
        else p.reject(new RemoteError(r.error.name, r.error.message));
      }
    };
    const failed = new Promise<never>((_, reject) => {
      worker.onerror = (e) => {
        const err = new Error(`the inference worker failed: ${e.message || 'script error'}`);
        for (const p of pending.values()) p.reject(err);
        pending.clear();
        reject(err);
      };
    });
    failed.catch(() => {});
    const send: Send = (request, progress) =>
      Promise.race([
        failed,
        new Promise((resolve, reject) => {
          const id = next++;
          pending.set(id, { resolve, reject, progress });
          worker.postMessage({ id, request } satisfies RequestEnvelope);
        }),
      ]);
    return new InferenceClient(send, () => worker.terminate());
  }

  /** A client that runs the engine on the page's thread (the fallback; the page may stutter while it works). */
  static async inPage(workerNote: string): Promise<InferenceClient> {
    const { Engine } = await import('./engine.js');
    const engine = new Engine({ inWorker: false, workerNote });
    let queue: Promise<unknown> = Promise.resolve();
    const send: Send = (request, progress) => {
      const run = queue.then(() => engine.handle(request, progress));
      queue = run.catch(() => {});
      return run;
    };
    return new InferenceClient(send, () => {});
  }
}
