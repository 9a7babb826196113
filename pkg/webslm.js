// webslm: small language models in the page, on WebGPU. Nothing leaves the device: weights are
// fetched once from where you say, verified, cached, and streamed straight into GPU buffers.
//
//   import { createEngine, pipeline } from 'webslm';
//   const engine = await createEngine('smollm2-135m-instruct');
//   const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
//
// The Rust side (src/web.rs) parses headers, takes weight bytes chunk by chunk and runs the
// models. The JS side is one module per job, and this file only re-exports the public API:
//   errors.js      the error kinds, WebslmError, abort helpers
//   wasm.js        the wasm module; every call into it turns errors into WebslmErrors
//   models.js      catalogue ids and URLs to files
//   cache.js       the Cache API (or none), storage quota
//   download.js    small files, Range pieces, header prefixes
//   load.js        files to a model on the GPU (openDecoder, openTextModel)
//   decoder.js     a decoder in OpenAI's shapes, sampling defaults
//   text_model.js  an encoder: embeddings, classify, ner, qa
//   queue.js, stream.js   one wasm call at a time; streamed chunks
//   engine.js      createEngine (in a worker or on the page)
//   messages.js, worker.js, worker_proxy.js   the worker protocol, its two ends
//   support.js     checkSupport; pipeline.js: transformers.js-style pipelines

export { CHUNK_BYTES, deleteModelFromCache, hasModelInCache } from './cache.js';
export { SAMPLING_DEFAULTS } from './decoder.js';
export { createEngine, KERNEL_PATHS } from './engine.js';
export { ERROR_KINDS, WebslmError } from './errors.js';
export { catalogue, resolveModel } from './models.js';
export { pipeline } from './pipeline.js';
export { checkSupport } from './support.js';
export { wasmMemoryBytes } from './wasm.js';
