// webslm: small language models in the page, on WebGPU. Nothing leaves the device: weights are
// fetched once from where you say, verified, cached, and streamed straight into GPU buffers.
//
//   import { createEngine, pipeline } from 'webslm';
//   const engine = await createEngine('smollm2-135m-instruct');
//   const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
//
// The Rust side (src/web.rs) parses headers, takes weight bytes chunk by chunk and runs the
// models; this file resolves models, fetches and caches files, and shapes the API.

import init, { WeightLoader, headerBytesNeeded, headerSummary, adapterInfo } from './generated/webslm_wasm.js';
import catalogue from './generated/catalogue.js';
import { deviceRecovery } from './recovery.js'; // [recovery]

const CACHE_NAME = 'webslm-v1';

/** An error whose `name` says what went wrong (also the kind of errors from the wasm side). */
export class WebslmError extends Error {
  constructor(name, message, extra = {}) {
    super(message);
    this.name = name;
    Object.assign(this, extra);
  }
}

let ready = null;
function wasm() {
  // A failed start (e.g. the wasm file not served) may be retried.
  ready ??= init().catch((e) => {
    ready = null;
    throw new WebslmError('LoadError', `the webslm wasm module did not load: ${e.message}`);
  });
  return ready;
}

/** Bytes of wasm linear memory (it only grows): the tests check that loading stays small. */
export async function wasmMemoryBytes() {
  const exports = await wasm();
  return exports.memory.buffer.byteLength;
}

// ---------------------------------------------------------------- models and files

/**
 * A model: a catalogue id, or `{ url | urls, sha256?, format?, task?, configUrl?, tokenizerUrl?,
 * tokenizerConfigUrl? }`. Returns `{ id, task, format, weights, config, tokenizer, tokenizerConfig }`,
 * each file `{ url, size?, sha256? }`.
 */
export function resolveModel(model) {
  if (typeof model === 'string') {
    const entry = catalogue.models.find((m) => m.id === model);
    if (!entry) {
      throw new WebslmError('UnknownModel', `${model} is not a catalogue id (${catalogue.models.map((m) => m.id).join(', ')})`);
    }
    const file = (path) => entry.files.find((f) => f.path === path);
    const weights = file('model.safetensors');
    if (!weights) throw new WebslmError('UnsupportedModel', `${model}: sharded weights are not supported in the browser yet`);
    return {
      id: entry.id, task: entry.task, format: 'safetensors', weights,
      config: file('config.json'), tokenizer: file('tokenizer.json'), tokenizerConfig: file('tokenizer_config.json'),
    };
  }
  const url = model.url ?? model.urls?.[0];
  if (!url) throw new WebslmError('UnknownModel', 'a model needs a catalogue id or { url }');
  const format = model.format ?? (new URL(url, 'http://x/').pathname.endsWith('.gguf') ? 'gguf' : 'safetensors');
  const opt = (u) => (u ? { url: u } : undefined);
  return {
    id: model.id ?? url, task: model.task ?? 'text-generation', format,
    weights: { url, sha256: model.sha256, size: model.size },
    config: opt(model.configUrl), tokenizer: opt(model.tokenizerUrl), tokenizerConfig: opt(model.tokenizerConfigUrl),
  };
}

/** The files a model loads (encoders do not read tokenizer_config.json). */
function files(resolved) {
  const chat = resolved.task === 'text-generation' ? [resolved.tokenizerConfig] : [];
  return [resolved.weights, resolved.config, resolved.tokenizer, ...chat].filter(Boolean);
}

async function openCache() {
  if (typeof caches === 'undefined') return null;
  return caches.open(CACHE_NAME);
}

/** Whether every file of `model` is in the cache, the weights downloaded whole and verified. */
export async function hasModelInCache(model) {
  const cache = await openCache();
  if (!cache) return false;
  const resolved = resolveModel(model);
  if (!(await cache.match(completeKey(resolved.weights.url)))) return false;
  for (const f of files(resolved).filter((f) => f !== resolved.weights)) {
    if (!(await cache.match(f.url))) return false;
  }
  return true;
}

/** Removes `model`'s files (and any partial download) from the cache. */
export async function deleteModelFromCache(model) {
  const cache = await openCache();
  if (!cache) return;
  const resolved = resolveModel(model);
  for (const f of files(resolved).filter((f) => f !== resolved.weights)) await cache.delete(f.url);
  const keys = await cache.keys();
  const prefix = resolved.weights.url;
  for (const k of keys) {
    const u = new URL(k.url);
    if (u.searchParams.has('webslm_bytes') || u.searchParams.has('webslm_complete')) {
      u.searchParams.delete('webslm_bytes');
      u.searchParams.delete('webslm_complete');
      if (u.href === new URL(prefix, location.href).href) await cache.delete(k);
    }
  }
}

async function quotaError(needed) {
  const est = (await navigator.storage?.estimate?.()) ?? {};
  const available = (est.quota ?? 0) - (est.usage ?? 0);
  return new WebslmError('QuotaExceededError', `storing the model needs ${needed} bytes; ${available} are available`, { needed, available });
}

/**
 * The response for `file`: from the cache, else fetched (and stored as it streams). `fromCache`
 * says which.
 */
async function openFile(file) {
  const cache = await openCache();
  const hit = cache && (await cache.match(file.url));
  if (hit) return { response: hit, fromCache: true, cache };
  let response;
  try {
    response = await fetch(file.url);
  } catch (e) {
    throw new WebslmError('NetworkError', `could not fetch ${file.url}: ${e.message}`);
  }
  if (!response.ok) throw new WebslmError('NetworkError', `could not fetch ${file.url}: HTTP ${response.status}`);
  if (cache) {
    navigator.storage?.persist?.().catch(() => {});
    const stored = cache.put(file.url, response.clone()).catch(async (e) => {
      if (e?.name === 'QuotaExceededError') throw await quotaError(Number(response.headers.get('content-length')) || 0);
      throw e;
    });
    return { response, fromCache: false, cache, stored };
  }
  return { response, fromCache: false, cache: null };
}

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A small file's bytes, verified against `file.sha256` when given. */
async function readSmall(file) {
  if (!file) return undefined;
  const opened = await openFile(file);
  const [body] = await Promise.all([opened.response.arrayBuffer(), opened.stored]);
  const bytes = new Uint8Array(body);
  if (file.sha256 && (await sha256Hex(bytes)) !== file.sha256) {
    await opened.cache?.delete(file.url);
    throw new WebslmError('IntegrityError', `${file.url} does not have the expected sha256`);
  }
  return bytes;
}

/** Range-request size: large files download (and resume) in pieces of this many bytes. */
export const CHUNK_BYTES = 8 << 20;
/** Range requests in flight at once. */
const CONCURRENCY = 3;

/** The cache key of bytes [a, b) of `url`, and of the marker saying the whole file verified. */
const chunkKey = (url, a, b) => `${url}${url.includes('?') ? '&' : '?'}webslm_bytes=${a}-${b}`;
const completeKey = (url) => `${url}${url.includes('?') ? '&' : '?'}webslm_complete=1`;

/** The file's size: from the model spec, else a HEAD request. */
async function fileSize(file) {
  if (file.size) return file.size;
  const head = await fetch(file.url, { method: 'HEAD' }).catch((e) => {
    throw new WebslmError('NetworkError', `could not reach ${file.url}: ${e.message}`);
  });
  const n = Number(head.headers.get('content-length'));
  if (!head.ok || !n) throw new WebslmError('NetworkError', `could not get the size of ${file.url} (HTTP ${head.status})`);
  return n;
}

/** Bytes [a, b) of the file: from the cache, else one Range request (then cached). */
async function fetchPiece(cache, url, a, b, total) {
  const key = chunkKey(url, a, b);
  const hit = cache && (await cache.match(key));
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), cached: true };
  let res;
  try {
    res = await fetch(url, { headers: { Range: `bytes=${a}-${b - 1}` } });
  } catch (e) {
    throw new WebslmError('NetworkError', `the download of ${url} was interrupted at byte ${a}: ${e.message}`);
  }
  if (res.status === 200 && a > 0) {
    res.body?.cancel();
    throw new WebslmError('NetworkError', `${url}: the server ignores HTTP Range requests, which files over ${CHUNK_BYTES} bytes need`);
  }
  if (res.status !== 206 && res.status !== 200) {
    throw new WebslmError('NetworkError', `${url}: HTTP ${res.status} for bytes ${a}-${b - 1}`);
  }
  const range = res.headers.get('content-range');
  if (res.status === 206 && range && !range.startsWith(`bytes ${a}-`)) {
    throw new WebslmError('NetworkError', `${url}: asked for bytes from ${a}, got ${range}`);
  }
  let bytes;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new WebslmError('NetworkError', `the download of ${url} was interrupted in bytes ${a}-${b - 1}: ${e.message}`);
  }
  if (res.status === 200) bytes = bytes.subarray(0, b - a); // a server without ranges sent it all
  if (bytes.length !== b - a) throw new WebslmError('NetworkError', `${url}: bytes ${a}-${b - 1} arrived short (${bytes.length})`);
  if (cache) {
    try {
      await cache.put(key, new Response(bytes));
    } catch (e) {
      if (e?.name === 'QuotaExceededError') throw await quotaError(total - a);
      throw e;
    }
  }
  return { bytes, cached: false };
}

/**
 * The file's bytes in order, as pieces of CHUNK_BYTES: cached pieces are read back, missing ones
 * fetched with up to CONCURRENCY Range requests in flight and cached as they arrive, so an
 * interrupted download resumes where it stopped.
 */
async function* filePieces(file, total, cache, onPiece) {
  const starts = [];
  for (let a = 0; a < total; a += CHUNK_BYTES) starts.push(a);
  const inFlight = new Map();
  let next = 0;
  const launch = () => {
    while (next < starts.length && inFlight.size < CONCURRENCY) {
      const a = starts[next++];
      const p = fetchPiece(cache, file.url, a, Math.min(a + CHUNK_BYTES, total), total);
      p.catch(() => {}); // awaited in order below; an unawaited failure must not go unhandled
      inFlight.set(a, p);
    }
  };
  for (const a of starts) {
    launch();
    const piece = await inFlight.get(a);
    inFlight.delete(a);
    onPiece(piece);
    yield piece.bytes;
  }
}

/**
 * Streams the weight file into a WeightLoader, piece by piece (the file is never held whole),
 * and verifies its sha256 before the model is built. A mismatch deletes every cached piece.
 */
async function loadWeights(resolved, onProgress) {
  const file = resolved.weights;
  const cache = await openCache();
  navigator.storage?.persist?.().catch(() => {});
  // A verified download left its size and sha256 behind: a warm load needs no network at all.
  const marker = cache && (await cache.match(completeKey(file.url)));
  const known = marker ? await marker.json() : null;
  const total = known?.size ?? (await fileSize(file));
  const started = performance.now();
  let done = 0;
  let fetched = 0;
  const onPiece = (piece) => {
    done += piece.bytes.length;
    if (!piece.cached) fetched += piece.bytes.length;
    const secs = (performance.now() - started) / 1000;
    onProgress?.({ file: file.url, loaded: done, total, bytesPerSecond: done / Math.max(secs, 1e-3), fromCache: piece.cached });
  };
  let head = new Uint8Array(0);
  let loader = null;
  try {
    for await (const bytes of filePieces(file, total, cache, onPiece)) {
      if (loader) {
        loader.push(bytes);
        continue;
      }
      head = concat(head, bytes);
      if (headerBytesNeeded(resolved.format, head, total) > head.length) continue;
      loader = await WeightLoader.create(resolved.format, head, total);
      loader.push(head);
      head = null;
    }
  } catch (e) {
    loader?.free(); // the GPU buffers of the tensors uploaded so far
    throw e;
  }
  if (!loader) throw new WebslmError('FormatError', `${file.url} ended inside its header`);
  const got = loader.sha256();
  loader.info = {
    weightBytes: total, largestTensorBytes: loader.largestTensor(), sha256: got,
    fromCache: fetched === 0, fetchedBytes: fetched, seconds: (performance.now() - started) / 1000,
  };
  if (file.sha256 && got !== file.sha256) {
    await deletePieces(cache, file.url, total);
    loader.free();
    throw new WebslmError('IntegrityError', `${file.url}: sha256 ${got} is not the expected ${file.sha256}; the cached copy was removed`);
  }
  if (cache && !known) await cache.put(completeKey(file.url), new Response(JSON.stringify({ size: total, sha256: got })));
  return loader;
}

async function deletePieces(cache, url, total) {
  if (!cache) return;
  await cache.delete(completeKey(url));
  for (let a = 0; a < total; a += CHUNK_BYTES) await cache.delete(chunkKey(url, a, Math.min(a + CHUNK_BYTES, total)));
}

/** The first `n` bytes of a response body, cancelling the rest (a server may ignore Range). */
async function readAtMost(res, n) {
  const reader = res.body.getReader();
  let out = new Uint8Array(0);
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    out = concat(out, value);
  }
  reader.cancel().catch(() => {});
  return out.subarray(0, n);
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------- support check

/** The weight file's header, read with one or two Range requests (the weights stay put). */
async function readHeader(resolved) {
  const file = resolved.weights;
  const total = await fileSize(file);
  let want = Math.min(total, 1 << 20);
  for (;;) {
    const res = await fetch(file.url, { headers: { Range: `bytes=0-${want - 1}` } });
    if (!res.ok) throw new WebslmError('NetworkError', `could not read the header of ${file.url}: HTTP ${res.status}`);
    const prefix = await readAtMost(res, want);
    if (prefix.length < want) throw new WebslmError('NetworkError', `${file.url}: the server sent ${prefix.length} of ${want} header bytes`);
    const needed = headerBytesNeeded(resolved.format, prefix, total);
    if (needed <= prefix.length) return headerSummary(resolved.format, prefix, total);
    // The parser asks for the next bytes it lacks, not the whole header: grow geometrically.
    want = Math.min(total, Math.max(needed, want * 2));
  }
}

/**
 * Whether this browser can run `model`, before any weight is downloaded: `{ ok, reasons,
 * adapter, estimate }`. Checks WebGPU, the adapter's buffer limits against the largest tensor,
 * and the memory the weights plus the KV cache need (`contextLength`, default 2048).
 */
export async function checkSupport(model, { contextLength = 2048 } = {}) {
  const reasons = [];
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    return { ok: false, reasons: ['WebGPU is not available in this browser (navigator.gpu is missing)'] };
  }
  await wasm();
  let adapter;
  try {
    adapter = await adapterInfo();
  } catch (e) {
    return { ok: false, reasons: [e.message] };
  }
  const resolved = resolveModel(model);
  let header;
  try {
    header = await readHeader(resolved);
  } catch (e) {
    return { ok: false, reasons: [e.message], adapter };
  }
  // Tensors larger than one binding are split by rows, but each part is its own buffer.
  if (header.largest_tensor > adapter.max_buffer_size) {
    reasons.push(`its largest tensor (${mib(header.largest_tensor)} MiB) exceeds this GPU's largest buffer (${mib(adapter.max_buffer_size)} MiB)`);
  }
  const kv = (header.kv_bytes_per_token ?? 0) * contextLength;
  const estimate = { weightBytes: header.weight_bytes, kvCacheBytes: kv, totalBytes: header.weight_bytes + kv };
  if (!adapter.shader_f16) estimate.note = 'no shader-f16: f16 weights are unpacked in the shaders (slower, same results)';
  return { ok: reasons.length === 0, reasons, adapter, estimate, architecture: header.architecture };
}

const mib = (bytes) => Math.round(bytes / 2 ** 20);

/** Throws NoWebGPU when the browser has no `navigator.gpu` (an adapter is checked later). */
function requireNavigatorGpu() {
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    throw new WebslmError('NoWebGPU', 'WebGPU is not available in this browser: use a recent Chrome, Edge or Safari, or enable WebGPU');
  }
}

async function requireWebGPU() {
  requireNavigatorGpu();
  await wasm();
}

// ---------------------------------------------------------------- engines

/**
 * Loads a model. A text-generation model gives `{ chat.completions.create, completions.create,
 * interrupt, unload }` in OpenAI's shapes; an encoder gives `{ embeddings.create, classify, ner,
 * qa, unload }`. Options: `worker` (default true: the model runs in a Web Worker),
 * `onProgress({ loaded, total, bytesPerSecond })`, `contextLength` (default 2048).
 */
export async function createEngine(model, { worker = true, onProgress, contextLength = 2048 } = {}) {
  if (worker && typeof Worker !== 'undefined' && typeof WorkerGlobalScope === 'undefined') {
    return createWorkerEngine(model, { onProgress, contextLength });
  }
  await requireWebGPU();
  const resolved = resolveModel(model);
  if (resolved.task !== 'text-generation') return createTextModel(resolved, onProgress);
  const [config, tokenizer, tokenizerConfig] = await Promise.all([
    readSmall(resolved.config), readSmall(resolved.tokenizer), readSmall(resolved.tokenizerConfig),
  ]);
  const started = performance.now();
  const loader = await loadWeights(resolved, onProgress);
  const info = loader.info;
  const web = loader.intoDecoder(config, tokenizer, tokenizerConfig, contextLength);
  // [recovery] After a device loss: the same weights again, from the Cache API, on a new device.
  const reopen = async () => (await loadWeights(resolved)).intoDecoder(config, tokenizer, tokenizerConfig, contextLength);
  return wrapDecoder(web, resolved.id, { ...info, totalSeconds: (performance.now() - started) / 1000 }, reopen);
}

function wrapDecoder(first, modelId, loadInfo, reopen) {
  // [recovery] Every call runs on device.web, reopened after a device loss (pkg/recovery.js).
  const device = deviceRecovery(first, { reopen, lostError: (message) => new WebslmError('DeviceLost', message) });
  // The wasm engine is borrowed for a whole generation, so every call goes through one queue.
  let busy = Promise.resolve();
  const enqueue = (task) => {
    const job = busy.then(() => device.run(task)); // [recovery]
    busy = job.catch(() => {});
    return job;
  };
  // The running job's stop flag: interrupt() stops that job only, never one still queued.
  let running = null;

  const run = (makePromptIds, params, onText, handle = { stop: false }) => enqueue(async (web) => {
    running = handle;
    try {
      const ids = Uint32Array.from(makePromptIds(web));
      return await web.generate(ids, params, (piece) => {
        onText?.(piece);
        return !handle.stop;
      });
    } finally {
      running = null;
    }
  });

  const params = (req) => ({
    max_tokens: req.max_tokens ?? 256, temperature: req.temperature ?? 1.0, top_p: req.top_p ?? 1.0,
    top_k: req.top_k ?? 40, min_p: 0, repeat_penalty: req.repeat_penalty ?? 1.0,
    // OpenAI samples afresh on every call unless a seed is given.
    seed: req.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop: [].concat(req.stop ?? []),
    ignore_eos: Boolean(req.ignore_eos),
  });

  const usage = (out) => ({ prompt_tokens: out.prompt_tokens, completion_tokens: out.ids.length, total_tokens: out.prompt_tokens + out.ids.length });

  async function create(req, makePromptIds, shape) {
    const created = Math.floor(Date.now() / 1000);
    const id = `webslm-${created}-${Math.random().toString(36).slice(2, 8)}`;
    if (!req.stream) {
      const out = await run(makePromptIds, params(req));
      return shape.full(id, created, out);
    }
    return streamChunks((onText, handle) => run(makePromptIds, params(req), onText, handle),
      (piece, first) => shape.chunk(id, created, piece, first), (out) => shape.last(id, created, out));
  }

  const chatShape = {
    full: (id, created, out) => ({
      id, object: 'chat.completion', created, model: modelId,
      choices: [{ index: 0, message: { role: 'assistant', content: out.text }, finish_reason: out.finish_reason }],
      usage: usage(out), webslm: { ids: out.ids, prefill_secs: out.prefill_secs, decode_secs: out.decode_secs },
    }),
    chunk: (id, created, piece, first) => ({
      id, object: 'chat.completion.chunk', created, model: modelId,
      choices: [{ index: 0, delta: first ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }],
    }),
    last: (id, created, out) => ({ id, object: 'chat.completion.chunk', created, model: modelId, choices: [{ index: 0, delta: {}, finish_reason: out.finish_reason }], usage: usage(out) }),
  };
  const textShape = {
    full: (id, created, out) => ({
      id, object: 'text_completion', created, model: modelId,
      choices: [{ index: 0, text: out.text, finish_reason: out.finish_reason }], usage: usage(out),
      webslm: { ids: out.ids, prefill_secs: out.prefill_secs, decode_secs: out.decode_secs },
    }),
    chunk: (id, created, piece) => ({ id, object: 'text_completion', created, model: modelId, choices: [{ index: 0, text: piece, finish_reason: null }] }),
    last: (id, created, out) => ({ id, object: 'text_completion', created, model: modelId, choices: [{ index: 0, text: '', finish_reason: out.finish_reason }], usage: usage(out) }),
  };

  return {
    model: modelId,
    /** How the weights arrived: bytes, largest tensor, sha256, fromCache, seconds. */
    loadInfo,
    chat: {
      completions: {
        create: (req) => create(req, (web) => web.tokenize(web.chatPrompt(req.messages)), chatShape),
      },
    },
    completions: {
      // As in OpenAI's API, the prompt may be text or token ids.
      create: (req) => create(req, (web) => (Array.isArray(req.prompt) ? req.prompt : web.tokenize(req.prompt)), textShape),
    },
    tokenize: (text) => enqueue(async (web) => Array.from(web.tokenize(text))),
    /** The ids `chat.completions.create` feeds the model for `messages`. */
    promptIds: (messages) => enqueue(async (web) => Array.from(web.tokenize(web.chatPrompt(messages)))),
    /** Forgets the KV cache, so the next prompt is prefilled in full (no prefix reuse). */
    resetCache: () => enqueue(async (web) => web.reset()),
    // [recovery] Times the model was reopened on a new device after a loss.
    deviceRecoveries: async () => device.recoveries,
    /** [recovery] Destroys the GPU device now, even mid-generation, to test recovery (like WEBGL_lose_context). */
    loseDeviceForTest: async () => device.loseDevice(),
    wasmMemoryBytes,
    /** Stops the running generation (it finishes with finish_reason 'abort'). */
    interrupt() {
      if (running) running.stop = true;
    },
    async unload() {
      await busy;
      device.dispose(); // [recovery]
    },
  };
}

/** A queue of values that an async iterator drains, waking when more arrive. */
function channel() {
  const queue = [];
  let wake = null;
  let end = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  return {
    push(v) { queue.push(v); poke(); },
    close(error) { end = { error }; poke(); },
    async *drain() {
      for (;;) {
        if (queue.length) yield queue.shift();
        else if (end?.error) throw end.error;
        else if (end) return;
        // Set before awaiting: a push between the checks and here still wakes us.
        else await new Promise((resolve) => { wake = resolve; if (queue.length || end) poke(); });
      }
    },
  };
}

/**
 * Text pieces as an async iterator of chunks; the last chunk carries the finish reason. Leaving
 * the loop early (`break`) stops the generation.
 */
function streamChunks(start, chunk, last) {
  const ch = channel();
  const handle = { stop: false };
  let first = true;
  let finished = false;
  start((piece) => {
    ch.push(chunk(piece, first));
    first = false;
  }, handle).then((out) => {
    finished = true;
    ch.push(last(out));
    ch.close();
  }, (error) => {
    finished = true;
    ch.close(error);
  });
  return {
    async *[Symbol.asyncIterator]() {
      try {
        yield* ch.drain();
      } finally {
        if (!finished) handle.stop = true;
      }
    },
  };
}

async function createTextModel(resolved, onProgress) {
  if (resolved.format !== 'safetensors' || !resolved.config || !resolved.tokenizer) {
    throw new WebslmError('UnsupportedModel', 'an encoder needs safetensors weights, config.json and tokenizer.json');
  }
  const started = performance.now();
  const [config, tokenizer] = await Promise.all([readSmall(resolved.config), readSmall(resolved.tokenizer)]);
  const loader = await loadWeights(resolved, onProgress);
  const info = loader.info;
  const web = loader.intoTextModel(config, tokenizer, 0, false);
  return {
    model: resolved.id,
    loadInfo: { ...info, totalSeconds: (performance.now() - started) / 1000 },
    embeddings: {
      async create({ input }) {
        const texts = [].concat(input);
        const vectors = await web.embed(texts, true);
        return { object: 'list', model: resolved.id, data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })) };
      },
    },
    wasmMemoryBytes,
    classify: (texts) => web.classify([].concat(texts), true),
    ner: (texts, aggregation = 'first') => web.ner([].concat(texts), aggregation, true),
    qa: (question, context, topK = 1) => web.qa(question, context, topK),
    async unload() {
      web.free();
    },
  };
}

// ---------------------------------------------------------------- the worker proxy

/** The same API as createEngine's, forwarding every call to pkg/worker.js. */
async function createWorkerEngine(model, { onProgress, contextLength }) {
  requireNavigatorGpu();
  // Workers cannot ask for persistent storage; the page asks for them.
  navigator.storage?.persist?.().catch(() => {});
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const pending = new Map();
  let nextId = 1;
  const failAll = (message) => {
    for (const handler of [...pending.values()]) handler({ type: 'error', error: { name: 'WorkerError', message } });
  };
  w.onmessage = ({ data }) => pending.get(data.id)?.(data);
  w.onerror = (e) => failAll(e.message || 'the webslm worker failed to start (is pkg/worker.js served?)');
  const stopWorker = () => {
    w.terminate();
    failAll('the engine was unloaded');
  };
  const fail = (error) => new WebslmError(error.name, error.message, { needed: error.needed, available: error.available });
  const request = (msg, onMessage) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, (data) => {
      if (data.type === 'error') {
        pending.delete(id);
        reject(fail(data.error));
      } else if (onMessage(data, resolve)) {
        pending.delete(id);
      }
    });
    w.postMessage({ id, ...msg });
  });
  // URLs are made absolute here: inside the worker they would resolve against pkg/worker.js.
  const absolute = (u) => (u ? new URL(u, document.baseURI).href : u);
  const spec = typeof model === 'string' ? model : {
    ...model, url: absolute(model.url), urls: model.urls?.map(absolute), configUrl: absolute(model.configUrl),
    tokenizerUrl: absolute(model.tokenizerUrl), tokenizerConfigUrl: absolute(model.tokenizerConfigUrl),
  };
  const loading = request({ type: 'load', model: spec, options: { contextLength } }, (data, resolve) => {
    if (data.type === 'progress') {
      onProgress?.(data.progress);
      return false;
    }
    resolve(data.shape);
    return true;
  });
  let shape;
  try {
    shape = await loading;
  } catch (e) {
    stopWorker(); // a failed load must not keep a worker, a GPU device and half the weights
    throw e;
  }
  const call = (path) => (...args) => request({ type: 'call', path, args }, (data, resolve) => {
    resolve(data.value);
    return true;
  });
  const stream = (path, args) => {
    const ch = channel();
    let finished = false;
    request({ type: 'stream', path, args }, (data, resolve) => {
      if (data.type === 'chunk') ch.push(data.chunk);
      if (data.type === 'done') resolve();
      return data.type === 'done';
    }).then(() => ch.close(), (error) => ch.close(error)).finally(() => { finished = true; });
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* ch.drain();
        } finally {
          if (!finished) w.postMessage({ type: 'interrupt' }); // left early: stop generating
        }
      },
    };
  };
  // Streaming or not, create() resolves first (to the reply, or to an async iterable of chunks).
  const create = (path) => async (req) => (req?.stream ? stream(path, [req]) : call(path)(req));
  const common = {
    model: shape.model,
    loadInfo: shape.loadInfo,
    wasmMemoryBytes: call(['wasmMemoryBytes']),
    async unload() {
      await call(['unload'])();
      stopWorker();
    },
  };
  if (shape.decoder) {
    return {
      ...common,
      chat: { completions: { create: create(['chat', 'completions', 'create']) } },
      completions: { create: create(['completions', 'create']) },
      tokenize: call(['tokenize']),
      promptIds: call(['promptIds']),
      resetCache: call(['resetCache']),
      deviceRecoveries: call(['deviceRecoveries']), // [recovery]
      loseDeviceForTest: call(['loseDeviceForTest']), // [recovery]
      interrupt: () => w.postMessage({ type: 'interrupt' }),
    };
  }
  return {
    ...common,
    embeddings: { create: call(['embeddings', 'create']) },
    classify: call(['classify']),
    ner: call(['ner']),
    qa: call(['qa']),
  };
}

// ---------------------------------------------------------------- pipelines

/**
 * transformers.js-style pipelines: `const classify = await pipeline('sentiment-analysis', model);
 * await classify('I love it')`.
 */
export async function pipeline(task, model, options = {}) {
  const engine = await createEngine(model, options);
  switch (task) {
    case 'sentiment-analysis':
    case 'text-classification':
      return async (text) => {
        const all = await engine.classify(text);
        return Array.isArray(text) ? all.map((labels) => labels[0]) : [all[0][0]];
      };
    case 'feature-extraction':
      return async (text) => (await engine.embeddings.create({ input: text })).data.map((d) => d.embedding);
    case 'token-classification':
    case 'ner':
      return async (text, { aggregation_strategy = 'first' } = {}) => {
        const all = await engine.ner(text, aggregation_strategy);
        return Array.isArray(text) ? all : all[0];
      };
    case 'question-answering':
      return async ({ question, context }, { top_k = 1 } = {}) => {
        const answers = await engine.qa(question, context, top_k);
        return top_k === 1 ? answers[0] ?? null : answers;
      };
    case 'text-generation':
      return async (prompt, req = {}) => {
        const out = await engine.completions.create({ ...req, prompt });
        return [{ generated_text: prompt + out.choices[0].text }];
      };
    default:
      throw new WebslmError('UnknownTask', `unknown task ${task}`);
  }
}

export { catalogue };
