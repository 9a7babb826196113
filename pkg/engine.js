// createEngine: a model loaded in a Web Worker (the default) or on the page's own thread.

import { decoderEngine } from './decoder.js';
import { WebslmError } from './errors.js';
import { openDecoder, openTextModel } from './load.js';
import { resolveModel } from './models.js';
import { taskOf } from './task.js';
import { textModelEngine } from './text_model.js';
import { wasm } from './wasm.js';
import { createWorkerEngine } from './worker_proxy.js';

/** Throws NoWebGPU when the browser has no `navigator.gpu` (an adapter is checked later). */
export function requireNavigatorGpu() {
  if (typeof navigator === 'undefined' || !(/** @type {any} */ (navigator).gpu)) {
    throw new WebslmError(
      'NoWebGPU',
      'WebGPU is not available in this browser: use a recent Chrome, Edge or Safari, or enable WebGPU',
    );
  }
}

/** The values of the `kernels` option (src/gpu/kernel_path.rs): `auto` lets the adapter decide. */
export const KERNEL_PATHS = Object.freeze(['auto', 'software', 'gpu']);

/**
 * Throws a GpuError for a `kernels` option that is not one of KERNEL_PATHS, before anything is
 * downloaded (the wasm side refuses it too, with the same kind).
 * @param {unknown} kernels
 */
export function checkKernels(kernels) {
  if (kernels !== undefined && !KERNEL_PATHS.includes(/** @type {string} */ (kernels))) {
    throw new WebslmError('GpuError', `unknown kernel path ${JSON.stringify(kernels)}: expected auto, software or gpu`);
  }
}

/**
 * `load`, with a gated model's refusal (HTTP 401/403) naming the licence page: the browser sends
 * no hub token, so the way in is a mirror of files the user may download (hubUrl).
 * @template T
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {Promise<T>} load
 * @returns {Promise<T>}
 */
async function namingLicence(resolved, load) {
  try {
    return await load;
  } catch (e) {
    const err = /** @type {Error} */ (e);
    if (!resolved.licenseUrl || err?.name !== 'NetworkError' || !/HTTP 40[13]\b/.test(err.message)) throw e;
    throw new WebslmError(
      'NetworkError',
      `${err.message}: ${resolved.id} is gated: accept its licence at ${resolved.licenseUrl}; the browser sends no hub token, so serve the files from a mirror you may use (hubUrl)`,
    );
  }
}

/**
 * Loads a model. A text-generation model gives `{ chat.completions.create, completions.create,
 * interrupt, unload, ... }` in OpenAI's shapes; an encoder gives `{ embeddings.create, classify,
 * ner, qa, unload }`. A `{ url, ... }` spec without `task` takes it from config.json's
 * `architectures` (a .gguf is a decoder), read before the weights. Options: `worker` (default
 * true: the model runs in a Web Worker), `onProgress({ loaded, total, bytesPerSecond })`,
 * `contextLength` (default 2048), `kernels` ('auto', the default: the adapter's; 'software':
 * the kernels tuned for CPU-emulated adapters; 'gpu': those designed for real GPUs), `signal`, and for a catalogue id `variant` (default: the entry's
 * 4-bit GGUF or its own files) and `hubUrl` (a mirror replacing https://huggingface.co in its URLs).
 * @type {typeof import('./webslm.js').createEngine}
 */
export async function createEngine(model, options = {}) {
  const { worker = true, onProgress, contextLength = 2048, signal, variant, hubUrl, kernels } = options;
  const inWorker = typeof (/** @type {any} */ (globalThis).WorkerGlobalScope) !== 'undefined';
  checkKernels(kernels);
  requireNavigatorGpu();
  if (worker && typeof Worker !== 'undefined' && !inWorker) {
    return createWorkerEngine(model, { onProgress, contextLength, signal, variant, hubUrl, kernels });
  }
  await wasm();
  const resolved = resolveModel(model, { variant, hubUrl });
  // A URL spec's task comes from its files (config.json), checked before the weights download.
  if (typeof model !== 'string') resolved.task = await taskOf(resolved, model.task, signal);
  if (resolved.task !== 'text-generation') {
    const { web, info } = await namingLicence(resolved, openTextModel(resolved, { onProgress, signal, kernels }));
    return textModelEngine(web, resolved.id, info);
  }
  const { web, info } = await namingLicence(resolved, openDecoder(resolved, { onProgress, signal, contextLength, kernels }));
  // After a device loss: the same weights again, from the Cache API, on a new device. The load's
  // signal is not passed on: it stopped the first load only.
  const reopen = async () => (await openDecoder(resolved, { contextLength, kernels })).web;
  return decoderEngine(web, resolved.id, info, reopen);
}
