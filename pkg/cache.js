// Where downloaded files live: the browser's Cache API, keyed by URL. No cache at all (private
// windows and some embedded browsers refuse `caches.open`) means every load downloads again,
// with a console warning, never a failure. Before a download, the origin's storage estimate is
// checked so that a shortfall is a QuotaExceededError before the first byte is fetched.

import { throwIfAborted, WebslmError } from './errors.js';
import { modelFiles, resolveModel } from './models.js';

const CACHE_NAME = 'webslm-v1';

/** Range-request size: large files download (and resume) in pieces of this many bytes. */
export const CHUNK_BYTES = 8 << 20;

/** The cache key of bytes [a, b) of `url`, and of the marker saying the whole file verified. */
export const chunkKey = (/** @type {string} */ url, /** @type {number} */ a, /** @type {number} */ b) =>
  `${url}${url.includes('?') ? '&' : '?'}webslm_bytes=${a}-${b}`;
export const completeKey = (/** @type {string} */ url) => `${url}${url.includes('?') ? '&' : '?'}webslm_complete=1`;

let warned = false;

/**
 * The package's cache, or null when this browser has none or refuses to open it.
 * @returns {Promise<Cache | null>}
 */
export async function openCache() {
  if (typeof caches === 'undefined') return null;
  try {
    return await caches.open(CACHE_NAME);
  } catch (e) {
    if (!warned) {
      warned = true;
      const why = /** @type {Error} */ (e)?.message ?? String(e);
      console.warn(`webslm: the Cache API is unavailable (${why}); models will download on every load`);
    }
    return null;
  }
}

/**
 * Throws QuotaExceededError when storing `needed` more bytes would exceed the origin's quota.
 * Without an estimate (older browsers) the download goes ahead and `cache.put` reports a
 * shortfall instead.
 * @param {number} needed
 */
export async function checkQuota(needed) {
  if (needed <= 0) return;
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  /** @type {StorageEstimate | null} */
  let est = null;
  try {
    est = (await storage?.estimate?.()) ?? null;
  } catch {
    est = null;
  }
  if (!est || typeof est.quota !== 'number') return;
  const available = Math.max(0, est.quota - (est.usage ?? 0));
  if (needed > available) throw quotaError(needed, available);
}

/** @param {number} needed @param {number} available */
export function quotaError(needed, available) {
  return new WebslmError(
    'QuotaExceededError',
    `storing the model needs ${needed} more bytes; this site may store ${available} more (free some space, or delete cached models)`,
    { needed, available },
  );
}

/** The quota error for a `cache.put` that the browser refused for space. */
export async function quotaErrorAfterPut(/** @type {number} */ needed) {
  let available = 0;
  try {
    const est = await navigator.storage?.estimate?.();
    available = Math.max(0, (est?.quota ?? 0) - (est?.usage ?? 0));
  } catch {
    available = 0;
  }
  return quotaError(needed, available);
}

/** Asks the browser not to evict the cache under storage pressure (a page may; a worker cannot). */
export function persist() {
  if (typeof navigator === 'undefined') return;
  navigator.storage?.persist?.().catch(() => {});
}

/**
 * Whether every file of `model` is in the cache, the weights downloaded whole and verified.
 * @type {typeof import('./webslm.js').hasModelInCache}
 */
export async function hasModelInCache(model, { signal, variant, hubUrl } = {}) {
  throwIfAborted(signal);
  const cache = await openCache();
  if (!cache) return false;
  const resolved = resolveModel(model, { variant, hubUrl });
  if (!(await cache.match(completeKey(resolved.weights.url)))) return false;
  for (const f of modelFiles(resolved).slice(1)) {
    throwIfAborted(signal);
    if (!(await cache.match(f.url))) return false;
  }
  return true;
}

/**
 * Removes `model`'s files (and any partial download) from the cache.
 * @type {typeof import('./webslm.js').deleteModelFromCache}
 */
export async function deleteModelFromCache(model, { signal, variant, hubUrl } = {}) {
  throwIfAborted(signal);
  const cache = await openCache();
  if (!cache) return;
  const resolved = resolveModel(model, { variant, hubUrl });
  for (const f of modelFiles(resolved).slice(1)) await cache.delete(f.url);
  const base = globalThis.location?.href ?? 'http://localhost/';
  const weights = new URL(resolved.weights.url, base).href;
  for (const k of await cache.keys()) {
    throwIfAborted(signal); // what is deleted stays deleted; the rest stays
    const u = new URL(k.url);
    if (u.searchParams.has('webslm_bytes') || u.searchParams.has('webslm_complete')) {
      u.searchParams.delete('webslm_bytes');
      u.searchParams.delete('webslm_complete');
      if (u.href === weights) await cache.delete(k);
    }
  }
}
