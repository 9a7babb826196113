// An encoder as an engine: embeddings in OpenAI's shape, and classify / ner / qa. A wasm call
// cannot be stopped halfway, so an aborted call rejects with AbortError at once and its result,
// when it comes, is dropped; calls still queued behind it are skipped.

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
  const list = (/** @type {string | string[]} */ texts) => /** @type {string[]} */ ([]).concat(texts);
  return {
    model: modelId,
    loadInfo,
    embeddings: {
      async create({ input }, options) {
        const vectors = await queue.run(() => web.embed(list(input), true), options?.signal);
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
    classify: (texts, options) => queue.run(() => web.classify(list(texts), true), options?.signal),
    ner: (texts, aggregation = 'first', options) => queue.run(() => web.ner(list(texts), aggregation, true), options?.signal),
    qa: (question, context, topK = 1, options) => queue.run(() => web.qa(question, context, topK), options?.signal),
    async unload() {
      await queue.idle();
      web.free();
    },
  };
}
