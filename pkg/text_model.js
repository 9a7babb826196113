// An encoder as an engine: embeddings in OpenAI's shape, and classify / ner / qa. A wasm call
// cannot be stopped halfway, so an aborted call rejects with AbortError at once and its result,
// when it comes, is dropped; calls still queued behind it are skipped. LoRA adapters (PEFT
// folders: low-rank terms and the task head PEFT saved) load as on a decoder and each call names
// the ones it runs with (`adapters: [{ id, scale }]`), set on the wasm model inside the call's
// queued task so that no other call sees them.

import { adapterRegistry } from './adapter.js';
import { serialQueue } from './queue.js';
import { wasmMemoryBytes } from './wasm.js';

/**
 * The engine around a wasm WebTextModel.
 * @param {any} web  the wasm WebTextModel (guarded by wasm.js)
 * @param {string} modelId
 * @param {import('./webslm.js').LoadInfo} loadInfo
 * @returns {import('./webslm.js').TextModel}
 */
export function textModelEngine(web, modelId, loadInfo) {
  const queue = serialQueue();
  const adapters = adapterRegistry((task, signal) => queue.run(() => task(web), signal));
  const list = (/** @type {string | string[]} */ texts) => /** @type {string[]} */ ([]).concat(texts);
  /**
   * Runs `call` on the wasm model with the request's adapters active (none: the base model).
   * @template T
   * @param {unknown} requested  the call's `adapters`
   * @param {() => Promise<T>} call
   * @param {AbortSignal} [signal]
   * @returns {Promise<T>}
   */
  const withAdapters = async (requested, call, signal) => {
    adapters.params(requested); // an unknown adapter or bad scale fails here, before the queue
    return queue.run(() => {
      web.setAdapters(adapters.params(requested));
      return call();
    }, signal);
  };
  return {
    model: modelId,
    loadInfo,
    embeddings: {
      async create({ input, adapters: requested }, options) {
        const vectors = await withAdapters(requested, () => web.embed(list(input), true), options?.signal);
        return {
          object: 'list',
          model: modelId,
          data: vectors.map((/** @type {number[]} */ embedding, /** @type {number} */ index) => ({
            object: 'embedding',
            index,
            embedding,
          })),
        };
      },
    },
    wasmMemoryBytes,
    classify: (texts, options) => withAdapters(options?.adapters, () => web.classify(list(texts), true), options?.signal),
    ner: (texts, aggregation = 'first', options) =>
      withAdapters(options?.adapters, () => web.ner(list(texts), aggregation, true), options?.signal),
    qa: (question, context, topK = 1, options) =>
      withAdapters(options?.adapters, () => web.qa(question, context, topK), options?.signal),
    /** Fetches, verifies and attaches a PEFT adapter (see the decoder's loadAdapter). */
    loadAdapter: (spec, options) => adapters.load(spec, options),
    /** Frees an adapter's GPU memory; calls naming it fail from now on. */
    unloadAdapter: (id, options) => adapters.unload(id, options),
    /** The adapters loaded: `[{ id, format, scale, gpuBytes }]`, in load order. */
    adapters: async () => adapters.list(),
    async unload() {
      await queue.idle();
      web.free();
    },
  };
}
