// The page side of a worker engine: the same API as createEngine's in-page engines, each method
// (listed once in messages.js) forwarded to pkg/worker.js.

import { persist } from './cache.js';
import { abortable, abortError, WebslmError } from './errors.js';
import { METHODS, MSG, STREAMING, setAt } from './messages.js';
import { channel } from './stream.js';

/**
 * @param {import('./webslm.js').ModelSpec} model
 * @param {{ onProgress?: (p: import('./webslm.js').Progress) => void, contextLength?: number, signal?: AbortSignal, variant?: string, hubUrl?: string, kernels?: import('./webslm.js').KernelPath }} options
 * @returns {Promise<any>}
 */
export async function createWorkerEngine(model, { onProgress, contextLength, signal, variant, hubUrl, kernels }) {
  if (signal?.aborted) throw abortError(signal);
  // Workers cannot ask for persistent storage; the page asks for them.
  persist();
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  /** @type {Map<number, (data: any) => void>} */
  const pending = new Map();
  let nextId = 1;
  const failAll = (/** @type {string} */ message) => {
    for (const handler of [...pending.values()]) handler({ type: MSG.error, error: { name: 'WorkerError', message } });
  };
  w.onmessage = ({ data }) => pending.get(data.id)?.(data);
  w.onerror = (e) => failAll(e.message || 'the webslm worker failed to start (is pkg/worker.js served?)');
  const stopWorker = () => {
    w.terminate();
    failAll('the engine was unloaded');
  };

  /**
   * Sends `msg` and calls `onMessage` with each reply until it returns true; a `signal` that fires
   * sends 'abort' for this request (the worker stops it and replies).
   * @param {object} msg
   * @param {(data: any, resolve: (v: any) => void) => boolean} onMessage
   * @param {AbortSignal} [sig]
   * @param {number} [id]  the request's id (a stream needs it to stop the generation)
   */
  const request = (msg, onMessage, sig, id = nextId++) =>
    new Promise((resolve, reject) => {
      const onAbort = () => w.postMessage({ id, type: MSG.abort });
      sig?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, (data) => {
        const end = () => {
          pending.delete(id);
          sig?.removeEventListener('abort', onAbort);
        };
        if (data.type === MSG.error) {
          end();
          reject(new WebslmError(data.error.name, data.error.message, data.error));
        } else if (onMessage(data, resolve)) {
          end();
        }
      });
      // Already aborted: the 'abort' event will not come, and a separate message could arrive
      // after the call started, so the call itself says so.
      w.postMessage({ id, ...msg, aborted: Boolean(sig?.aborted) });
    });

  // URLs are made absolute here: inside the worker they would resolve against pkg/worker.js.
  const absolute = (/** @type {string | undefined} */ u) => (u ? new URL(u, document.baseURI).href : u);
  const spec =
    typeof model === 'string'
      ? model
      : {
          ...model,
          url: absolute(model.url),
          urls: model.urls?.map((u) => /** @type {string} */ (absolute(u))),
          configUrl: absolute(model.configUrl),
          tokenizerUrl: absolute(model.tokenizerUrl),
          tokenizerConfigUrl: absolute(model.tokenizerConfigUrl),
        };
  /** An adapter spec with its URLs absolute (anything else is left for resolveAdapter to refuse). */
  const absoluteAdapter = (/** @type {any} */ spec) =>
    spec && typeof spec === 'object'
      ? {
          ...spec,
          url: typeof spec.url === 'string' ? absolute(spec.url) : spec.url,
          configUrl: typeof spec.configUrl === 'string' ? absolute(spec.configUrl) : spec.configUrl,
          taskConfigUrl: typeof spec.taskConfigUrl === 'string' ? absolute(spec.taskConfigUrl) : spec.taskConfigUrl,
          files: Array.isArray(spec.files)
            ? spec.files.map((/** @type {any} */ f) => (typeof f?.url === 'string' ? { ...f, url: absolute(f.url) } : f))
            : spec.files,
        }
      : spec;
  /** @type {{ model: string, loadInfo: import('./webslm.js').LoadInfo, kind: 'decoder' | 'textModel' }} */
  let shape;
  try {
    shape = await request(
      { type: MSG.load, model: spec, options: { contextLength, variant, hubUrl: absolute(hubUrl), kernels } },
      (data, resolve) => {
        if (data.type === MSG.progress) {
          onProgress?.(data.progress);
          return false;
        }
        resolve(data.shape);
        return true;
      },
      signal,
    );
  } catch (e) {
    stopWorker(); // a failed load must not keep a worker, a GPU device and half the weights
    throw e;
  }

  /**
   * A method's stand-in: its options argument's signal stays on this side.
   * @param {string} path
   * @param {number} at  the position of the options argument, or -1
   */
  const forward = (path, at) => {
    const streams = STREAMING.includes(path);
    return (/** @type {any[]} */ ...args) => {
      const sig = at >= 0 ? args[at]?.signal : undefined;
      const sent = args.slice(0, at >= 0 ? at : args.length);
      // The options travel without their signal (an AbortSignal cannot be cloned): the worker
      // gives them one of its own, which this side's signal aborts.
      if (at >= 0 && args[at] && typeof args[at] === 'object') {
        const { signal: _, ...rest } = args[at];
        sent[at] = rest;
      }
      if (path === 'loadAdapter') sent[0] = absoluteAdapter(sent[0]);
      if (streams && args[0]?.stream) return Promise.resolve(stream(path, sent, sig));
      const result = request(
        { type: MSG.call, path, args: sent },
        (data, resolve) => {
          resolve(data.value);
          return true;
        },
        sig,
      );
      // A generation stopped by its signal resolves (finish_reason 'abort'); other calls reject
      // at once, without waiting for the worker to finish what it is computing.
      return streams ? result : abortable(result, sig);
    };
  };

  /**
   * @param {string} path
   * @param {any[]} args
   * @param {AbortSignal | undefined} sig
   */
  const stream = (path, args, sig) => {
    /** @type {ReturnType<typeof channel<any>>} */
    const ch = channel();
    let finished = false;
    const id = nextId++;
    const done = request(
      { type: MSG.call, path, args, stream: true },
      (data, resolve) => {
        if (data.type === MSG.chunk) ch.push(data.chunk);
        if (data.type === MSG.done) resolve(undefined);
        return data.type === MSG.done;
      },
      sig,
      id,
    );
    done
      .then(
        () => ch.close(undefined),
        (error) => ch.close(error),
      )
      .finally(() => {
        finished = true;
      });
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* ch.drain();
        } finally {
          if (!finished) w.postMessage({ id, type: MSG.abort }); // left early: stop generating
        }
      },
    };
  };

  const engine = { model: shape.model, loadInfo: shape.loadInfo };
  for (const [path, at] of Object.entries(METHODS[shape.kind])) setAt(engine, path, forward(path, at));
  const unload = forward('unload', -1);
  setAt(engine, 'unload', async () => {
    await unload();
    stopWorker();
  });
  if (shape.kind === 'decoder') setAt(engine, 'interrupt', () => w.postMessage({ type: MSG.interrupt }));
  return engine;
}
