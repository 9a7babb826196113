// From files to a model on the GPU: check the storage quota, read the small files, stream the
// weights piece by piece into a WeightLoader (the file is never held whole), verify the sha256,
// and build the wasm model. openDecoder and openTextModel may be called again on the same model
// (a second load reads everything back from the cache), e.g. to rebuild after a lost device.

import { CHUNK_BYTES, checkQuota, chunkKey, completeKey, openCache, persist } from './cache.js';
import { concat, filePieces, fileSize, missingBytes, readSmall } from './download.js';
import { throwIfAborted, WebslmError } from './errors.js';
import { tokenizerFiles } from './models.js';
import { createWeightLoader, headerBytesNeeded } from './wasm.js';

/** src/tokenizer/wordpiece.rs's MAX_VOCAB_TXT_BYTES (16 MiB). */
export const MAX_VOCAB_TXT_BYTES = 16 << 20;

/**
 * @typedef {{ onProgress?: (p: import('./webslm.js').Progress) => void, signal?: AbortSignal, contextLength?: number, kernels?: import('./webslm.js').KernelPath }} LoadOptions
 */

/**
 * The weights' size, and a QuotaExceededError before any byte is fetched when what is not cached
 * yet (weights, and small files whose size is known) does not fit the origin's quota.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {Cache | null} cache
 * @param {AbortSignal} [signal]
 */
async function prepare(resolved, cache, signal) {
  const file = resolved.weights;
  // A verified download left its size and sha256 behind: a warm load needs no network at all.
  const marker = cache && (await cache.match(completeKey(file.url)));
  const known = marker ? /** @type {{ size: number, sha256: string }} */ (await marker.json()) : null;
  const total = known?.size ?? (await fileSize(file, signal));
  if (cache && !known) {
    let needed = await missingBytes(cache, file.url, total);
    for (const f of [resolved.config, ...tokenizerFiles(resolved)]) {
      if (f?.size && !(await cache.match(f.url))) needed += f.size;
    }
    await checkQuota(needed);
  }
  throwIfAborted(signal);
  return { total, known };
}

/**
 * Streams the weight file into a WeightLoader and verifies its sha256 before the model is built.
 * A mismatch deletes every cached piece.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {Cache | null} cache
 * @param {{ total: number, known: { sha256: string } | null }} prepared
 * @param {LoadOptions} options
 */
async function loadWeights(resolved, cache, { total, known }, { onProgress, signal, kernels }) {
  const file = resolved.weights;
  const started = performance.now();
  let done = 0;
  let fetched = 0;
  const onPiece = (/** @type {{ bytes: Uint8Array, cached: boolean }} */ piece) => {
    done += piece.bytes.length;
    if (!piece.cached) fetched += piece.bytes.length;
    const secs = (performance.now() - started) / 1000;
    onProgress?.({ file: file.url, loaded: done, total, bytesPerSecond: done / Math.max(secs, 1e-3), fromCache: piece.cached });
  };
  /** @type {Uint8Array | null} */
  let head = new Uint8Array(0);
  let loader = null;
  try {
    for await (const bytes of filePieces(file, total, cache, onPiece, signal)) {
      if (loader) {
        loader.push(bytes);
        continue;
      }
      head = concat(/** @type {Uint8Array} */ (head), bytes);
      if (headerBytesNeeded(resolved.format, head, total) > head.length) continue;
      loader = await createWeightLoader(resolved.format, head, total, kernels);
      loader.push(head);
      head = null;
    }
  } catch (e) {
    loader?.free(); // the GPU buffers of the tensors uploaded so far
    throw e;
  }
  if (!loader) throw new WebslmError('FormatError', `${file.url} ended inside its header`);
  const got = loader.sha256();
  const info = {
    weightBytes: total,
    largestTensorBytes: loader.largestTensor(),
    sha256: got,
    fromCache: fetched === 0,
    fetchedBytes: fetched,
    seconds: (performance.now() - started) / 1000,
    kernels: loader.kernels(),
  };
  if (file.sha256 && got !== file.sha256) {
    loader.free();
    await deletePieces(cache, file.url, total);
    throw new WebslmError(
      'IntegrityError',
      `${file.url}: sha256 ${got} is not the expected ${file.sha256}; the cached copy was removed`,
    );
  }
  if (cache && !known) await cache.put(completeKey(file.url), new Response(JSON.stringify({ size: total, sha256: got })));
  return { loader, info };
}

async function deletePieces(/** @type {Cache | null} */ cache, /** @type {string} */ url, /** @type {number} */ total) {
  if (!cache) return;
  await cache.delete(completeKey(url));
  for (let a = 0; a < total; a += CHUNK_BYTES) await cache.delete(chunkKey(url, a, Math.min(a + CHUNK_BYTES, total)));
}

/**
 * A decoder (the wasm WebEngine) and how its weights arrived.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {LoadOptions} [options]
 */
export async function openDecoder(resolved, options = {}) {
  const { signal, contextLength = 2048 } = options;
  const started = performance.now();
  const cache = await openCache();
  persist();
  const prepared = await prepare(resolved, cache, signal);
  const [config, tokenizer, tokenizerConfig] = await Promise.all([
    readSmall(resolved.config, cache, signal),
    readSmall(resolved.tokenizer, cache, signal),
    readSmall(resolved.tokenizerConfig, cache, signal),
  ]);
  const { loader, info } = await loadWeights(resolved, cache, prepared, options);
  if (signal?.aborted) loader.free();
  throwIfAborted(signal);
  const web = loader.intoDecoder(config, tokenizer, tokenizerConfig, contextLength);
  return { web, info: { ...info, totalSeconds: (performance.now() - started) / 1000 } };
}

/**
 * An encoder (the wasm WebTextModel) and how its weights arrived.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {LoadOptions} [options]
 */
export async function openTextModel(resolved, options = {}) {
  const { signal } = options;
  if (resolved.format !== 'safetensors' || !resolved.config || !(resolved.tokenizer || resolved.vocab)) {
    throw new WebslmError(
      'UnsupportedModel',
      'an encoder needs safetensors weights, config.json and tokenizer.json (or a BERT vocab.txt)',
    );
  }
  const started = performance.now();
  const cache = await openCache();
  persist();
  const prepared = await prepare(resolved, cache, signal);
  // tokenizer.json when the model has one; else vocab.txt, tokenizer_config.json and
  // special_tokens_map.json (the last two optional).
  const vocabFiles = resolved.tokenizer ? [] : [resolved.vocab, resolved.tokenizerConfig, resolved.specialTokensMap];
  const [config, tokenizer, vocab, tokenizerConfig, specialTokensMap] = await Promise.all(
    [resolved.config, resolved.tokenizer, ...vocabFiles].map((f) => readSmall(f, cache, signal)),
  );
  // src/tokenizer/wordpiece.rs refuses a larger vocab.txt (real ones are under 1 MB); refusing it
  // here keeps it out of wasm memory (which never shrinks) and saves the weights' download.
  if (vocab && vocab.length > MAX_VOCAB_TXT_BYTES) {
    throw new WebslmError('TokenizerError', `vocab.txt is ${vocab.length} bytes; at most ${MAX_VOCAB_TXT_BYTES} are accepted`);
  }
  const { loader, info } = await loadWeights(resolved, cache, prepared, options);
  if (signal?.aborted) loader.free();
  throwIfAborted(signal);
  const web = loader.intoTextModel(config, tokenizer, vocab, tokenizerConfig, specialTokensMap, 0, false);
  return { web, info: { ...info, totalSeconds: (performance.now() - started) / 1000 } };
}
