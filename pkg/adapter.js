// LoRA adapters in the browser (issue 19): a spec names an adapter's files (llama.cpp's GGUF
// adapter, or a PEFT folder's adapter_config.json + adapter_model.safetensors); they are fetched,
// sha256-verified and cached as a model's small files are (download.js readSmall, the same Cache
// API store), then handed to the wasm engine (src/web.rs loadAdapter), which checks the adapter
// against the base model and uploads it once. A request picks its adapters by id
// (`adapters: [{ id, scale }]`); switching only changes scales on the GPU, never uploads weights.

import { openCache, persist } from './cache.js';
import { readSmall } from './download.js';
import { WebslmError } from './errors.js';

/** PEFT's two files, by name (a catalogue-like `files` list names them by `path`). */
const PEFT_CONFIG = 'adapter_config.json';
const PEFT_WEIGHTS = 'adapter_model.safetensors';
/** The fine-tuned task model's config.json, whose id2label names a saved head's labels. */
const TASK_CONFIG = 'config.json';

const SHA256 = /^[0-9a-f]{64}$/;

const adapterError = (/** @type {string} */ message) => new WebslmError('AdapterError', message);

/**
 * A file of the spec, checked: a non-empty URL, an optional lower-case hex sha256 and size.
 * @param {unknown} url
 * @param {unknown} sha256
 * @param {unknown} size
 * @param {string} what
 * @returns {import('./webslm.js').ModelFile}
 */
function checkedFile(url, sha256, size, what) {
  if (typeof url !== 'string' || url === '') throw adapterError(`${what}: a URL (a non-empty string) is needed`);
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !SHA256.test(sha256))) {
    throw adapterError(`${what}: sha256 must be 64 lower-case hex digits, got ${JSON.stringify(sha256)}`);
  }
  if (size !== undefined && !(Number.isInteger(size) && /** @type {number} */ (size) > 0)) {
    throw adapterError(`${what}: size must be a positive integer, got ${JSON.stringify(size)}`);
  }
  return { url, sha256: /** @type {string | undefined} */ (sha256), size: /** @type {number | undefined} */ (size) };
}

/** A scale: a finite number (1 = as trained, 0 = off). */
function checkedScale(/** @type {unknown} */ scale, /** @type {string} */ what) {
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw adapterError(`${what}: scale must be a finite number, got ${JSON.stringify(scale)}`);
  }
  return scale;
}

/** The file a `files` list names `path` (or ending in `suffix`), if any. */
function listed(/** @type {any[]} */ files, /** @type {(path: string) => boolean} */ which) {
  const f = files.find((x) => typeof x?.path === 'string' && which(x.path));
  return f && checkedFile(f.url, f.sha256, f.size, `adapter file ${f.path}`);
}

/**
 * An adapter spec, checked and resolved to its files, before anything is fetched:
 *   { id, url: 'x.gguf', sha256?, size?, scale? }                  llama.cpp's GGUF adapter
 *   { id, url: '.../adapter_model.safetensors', configUrl, sha256?, configSha256?, scale? }   PEFT
 *   { id, files: [{ path, url, sha256?, size? }], scale? }         catalogue-like: a `.gguf`, or
 *                                                                  adapter_config.json + adapter_model.safetensors
 * A PEFT encoder adapter whose head has other labels than the base model's also names the task
 * model's config.json: `taskConfigUrl` (+ `taskConfigSha256`), or `config.json` in `files`.
 * `format: 'gguf' | 'peft'` may say which when a URL does not. `scale` (default 1) is what a
 * request naming the adapter without a scale gets. Anything else is an AdapterError.
 * @param {unknown} spec
 * @returns {import('./webslm.js').ResolvedAdapter}
 */
export function resolveAdapter(spec) {
  if (spec === null || typeof spec !== 'object') throw adapterError('an adapter spec is an object { id, url | files, ... }');
  const s = /** @type {any} */ (spec);
  if (typeof s.id !== 'string' || s.id === '') throw adapterError('an adapter spec needs an id (a non-empty string)');
  const what = `adapter ${s.id}`;
  const scale = s.scale === undefined ? 1 : checkedScale(s.scale, what);
  if (s.format !== undefined && s.format !== 'gguf' && s.format !== 'peft') {
    throw adapterError(`${what}: format must be 'gguf' or 'peft', got ${JSON.stringify(s.format)}`);
  }
  if (s.files !== undefined) {
    if (s.url !== undefined) throw adapterError(`${what}: give url or files, not both`);
    if (!Array.isArray(s.files)) throw adapterError(`${what}: files must be an array of { path, url, sha256? }`);
    const gguf = listed(s.files, (p) => p.endsWith('.gguf'));
    const weights = listed(s.files, (p) => p === PEFT_WEIGHTS || p.endsWith(`/${PEFT_WEIGHTS}`));
    const config = listed(s.files, (p) => p === PEFT_CONFIG || p.endsWith(`/${PEFT_CONFIG}`));
    const taskConfig = listed(s.files, (p) => p === TASK_CONFIG || p.endsWith(`/${TASK_CONFIG}`));
    if (gguf && !weights && !taskConfig) return { id: s.id, scale, format: 'gguf', weights: gguf };
    if (weights && config && !gguf) return { id: s.id, scale, format: 'peft', weights, config, taskConfig };
    throw adapterError(`${what}: files must hold one .gguf adapter, or ${PEFT_CONFIG} and ${PEFT_WEIGHTS}`);
  }
  const weights = checkedFile(s.url, s.sha256, s.size, what);
  const path = new URL(weights.url, 'http://x/').pathname;
  const format = s.format ?? (s.configUrl !== undefined ? 'peft' : path.endsWith('.gguf') ? 'gguf' : undefined);
  if (format === 'gguf') {
    if (s.configUrl !== undefined) throw adapterError(`${what}: a GGUF adapter has no configUrl`);
    if (s.taskConfigUrl !== undefined) throw adapterError(`${what}: a GGUF adapter has no taskConfigUrl`);
    return { id: s.id, scale, format, weights };
  }
  if (format === 'peft') {
    if (path.endsWith('.gguf')) throw adapterError(`${what}: ${weights.url} is a GGUF adapter, which has no configUrl`);
    const config = checkedFile(s.configUrl, s.configSha256, undefined, `${what} (${PEFT_CONFIG})`);
    const taskConfig =
      s.taskConfigUrl === undefined
        ? undefined
        : checkedFile(s.taskConfigUrl, s.taskConfigSha256, undefined, `${what} (the task model's ${TASK_CONFIG})`);
    return { id: s.id, scale, format, weights, config, taskConfig };
  }
  throw adapterError(`${what}: ${weights.url} is not a .gguf; a PEFT adapter also needs configUrl (its ${PEFT_CONFIG})`);
}

/** @typedef {{ weights: Uint8Array, config: Uint8Array | undefined, taskConfig: Uint8Array | undefined }} AdapterFiles */

/**
 * The adapter's bytes, from the Cache API or fetched, cached and verified like a model's small
 * files (an IntegrityError deletes the cached copy).
 * @param {import('./webslm.js').ResolvedAdapter} adapter
 * @param {AbortSignal} [signal]
 * @returns {Promise<AdapterFiles>}
 */
export async function fetchAdapter(adapter, signal) {
  const cache = await openCache();
  persist();
  const [weights, config, taskConfig] = await Promise.all([
    readSmall(adapter.weights, cache, signal),
    readSmall(adapter.config, cache, signal),
    readSmall(adapter.taskConfig, cache, signal),
  ]);
  return { weights: /** @type {Uint8Array} */ (weights), config, taskConfig };
}

/**
 * A request's `adapters` as the wasm side takes them (`[{ id, scale }]` with the engine's numeric
 * ids): each entry `{ id, scale? }` names a loaded adapter (scale: its spec's, by default). Absent
 * or empty: the base model. An unknown id, a repeated one or a bad scale is an AdapterError.
 * @param {unknown} requested  the request's `adapters`
 * @param {ReadonlyMap<string, { wasmId: number, scale: number }>} loaded
 * @returns {{ id: number, scale: number }[]}
 */
export function adapterParams(requested, loaded) {
  if (requested === undefined || requested === null) return [];
  if (!Array.isArray(requested)) throw adapterError('adapters must be an array of { id, scale? }');
  const seen = new Set();
  return requested.map((entry) => {
    const id = entry?.id;
    if (typeof id !== 'string')
      throw adapterError(`each of adapters is { id, scale? } with a string id, got ${JSON.stringify(entry)}`);
    const a = loaded.get(id);
    if (!a || a.wasmId < 0) {
      const ids = [...loaded.keys()].join(', ') || 'none';
      throw adapterError(`no adapter ${JSON.stringify(id)} is loaded (loaded: ${ids}); await loadAdapter first`);
    }
    if (seen.has(id)) throw adapterError(`adapter ${id} is named twice in adapters`);
    seen.add(id);
    const scale = entry.scale === undefined ? a.scale : checkedScale(entry.scale, `adapter ${id}`);
    return { id: a.wasmId, scale };
  });
}

/**
 * The adapters one engine has loaded, by their string id, for decoders and text models alike:
 * each entry holds its resolved spec, the wasm object's numeric id (-1 while loading), its
 * default scale and the GPU bytes its upload added. `run` is the engine's serial queue, so an
 * attach never overlaps a call that uses the adapters.
 * @param {<T>(task: (web: any) => T | Promise<T>, signal?: AbortSignal) => Promise<T>} run
 */
export function adapterRegistry(run) {
  /** @type {Map<string, { resolved: import('./webslm.js').ResolvedAdapter, wasmId: number, scale: number, gpuBytes: number }>} */
  const loaded = new Map();
  /**
   * Attaches an adapter's fetched files to the wasm object `web` (WebEngine or WebTextModel).
   * @param {any} web
   * @param {import('./webslm.js').ResolvedAdapter} resolved
   * @param {AdapterFiles} files
   * @returns {{ id: number, gpu_bytes: number }}
   */
  const attach = (web, resolved, files) => web.loadAdapter(resolved.format, files.weights, files.config, files.taskConfig);
  /** @returns {import('./webslm.js').LoadedAdapter} */
  const listing = (/** @type {string} */ id, /** @type {any} */ a) => ({
    id,
    format: a.resolved.format,
    scale: a.scale,
    gpuBytes: a.gpuBytes,
  });
  return {
    /**
     * Fetches (or reads from the cache), verifies and attaches an adapter; requests then name it
     * in `adapters: [{ id, scale }]`. Resolves to what `list()` shows for it.
     * @param {unknown} spec
     * @param {{ signal?: AbortSignal }} [options]
     */
    async load(spec, options) {
      const resolved = resolveAdapter(spec);
      if (loaded.has(resolved.id)) throw adapterError(`an adapter with id ${resolved.id} is already loaded`);
      // Reserved now, so a second load of the same id fails at once instead of racing this one.
      const entry = { resolved, wasmId: -1, scale: resolved.scale, gpuBytes: 0 };
      loaded.set(resolved.id, entry);
      try {
        const files = await fetchAdapter(resolved, options?.signal);
        const out = await run((web) => attach(web, resolved, files), options?.signal);
        entry.wasmId = out.id;
        entry.gpuBytes = out.gpu_bytes;
      } catch (e) {
        loaded.delete(resolved.id);
        throw e;
      }
      return listing(resolved.id, entry);
    },
    /**
     * Frees an adapter's GPU memory; requests naming it fail from now on.
     * @param {string} id
     * @param {{ signal?: AbortSignal }} [options]
     */
    async unload(id, options) {
      const entry = loaded.get(id);
      if (!entry || entry.wasmId < 0) throw adapterError(`no adapter ${JSON.stringify(id)} is loaded`);
      loaded.delete(id);
      await run((web) => web.unloadAdapter(entry.wasmId), options?.signal);
    },
    /** The adapters loaded: `[{ id, format, scale, gpuBytes }]`, in load order. */
    list: () => [...loaded].filter(([, a]) => a.wasmId >= 0).map(([id, a]) => listing(id, a)),
    /**
     * A request's `adapters` with the wasm object's numeric ids (see adapterParams); call it inside
     * the queued task, since a recovery may renumber them.
     * @param {unknown} requested
     */
    params: (requested) => adapterParams(requested, loaded),
    /**
     * Attaches every loaded adapter to `web`, a new wasm object after a GPU device loss (their
     * files from the Cache API); requests keep naming them by the same string ids. One still
     * loading (wasmId -1) is attached by its own queued call, on the new object.
     * @param {any} web
     */
    async reattach(web) {
      for (const a of loaded.values()) {
        if (a.wasmId >= 0) a.wasmId = attach(web, a.resolved, await fetchAdapter(a.resolved)).id;
      }
    },
  };
}
