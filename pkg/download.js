// Fetching files: small ones whole, the weights as Range pieces (cached one by one, so an
// interrupted download resumes), and a weight file's header alone for checkSupport. Every fetch
// takes the caller's AbortSignal; an abort stops the pieces in flight and keeps the finished ones.

import { CHUNK_BYTES, chunkKey, persist, quotaErrorAfterPut } from './cache.js';
import { abortError, throwIfAborted, WebslmError } from './errors.js';

/** Range requests in flight at once. */
const CONCURRENCY = 3;

/**
 * `fetch`, with a failure as NetworkError (or AbortError when `signal` fired).
 * @param {string} url
 * @param {RequestInit} init
 * @param {string} what  what was being fetched, for the message
 */
async function get(url, init, what) {
  throwIfAborted(init.signal ?? undefined);
  try {
    return await fetch(url, init);
  } catch (e) {
    if (init.signal?.aborted) throw abortError(init.signal);
    throw new WebslmError('NetworkError', `${what}: ${/** @type {Error} */ (e).message}`);
  }
}

/** A response body's bytes, with an interruption as NetworkError (or AbortError). */
async function body(/** @type {Response} */ res, /** @type {AbortSignal | undefined} */ signal, /** @type {string} */ what) {
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw new WebslmError('NetworkError', `${what}: ${/** @type {Error} */ (e).message}`);
  }
}

export async function sha256Hex(/** @type {Uint8Array} */ bytes) {
  const digest = await crypto.subtle.digest('SHA-256', /** @type {Uint8Array<ArrayBuffer>} */ (bytes));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A small file's bytes (config, tokenizer): from the cache, else fetched and cached; verified
 * against `file.sha256` when given.
 * @param {import('./webslm.js').ModelFile | undefined} file
 * @param {Cache | null} cache
 * @param {AbortSignal} [signal]
 */
export async function readSmall(file, cache, signal) {
  if (!file) return undefined;
  const hit = cache && (await cache.match(file.url));
  let bytes;
  if (hit) {
    bytes = new Uint8Array(await hit.arrayBuffer());
  } else {
    const res = await get(file.url, { signal }, `could not fetch ${file.url}`);
    if (!res.ok) throw new WebslmError('NetworkError', `could not fetch ${file.url}: HTTP ${res.status}`);
    bytes = await body(res, signal, `the download of ${file.url} was interrupted`);
  }
  if (file.sha256 && (await sha256Hex(bytes)) !== file.sha256) {
    await cache?.delete(file.url);
    throw new WebslmError('IntegrityError', `${file.url} does not have the expected sha256`);
  }
  if (cache && !hit) {
    persist();
    await cache.put(file.url, new Response(/** @type {Uint8Array<ArrayBuffer>} */ (bytes))).catch(async (e) => {
      if (e?.name === 'QuotaExceededError') throw await quotaErrorAfterPut(bytes.length);
      throw e;
    });
  }
  return bytes;
}

/**
 * The file's size: from the model spec, else a HEAD request (headers only, no body bytes).
 * @param {import('./webslm.js').ModelFile} file
 * @param {AbortSignal} [signal]
 */
export async function fileSize(file, signal) {
  if (file.size) return file.size;
  const head = await get(file.url, { method: 'HEAD', signal }, `could not reach ${file.url}`);
  const n = Number(head.headers.get('content-length'));
  if (!head.ok || !n) throw new WebslmError('NetworkError', `could not get the size of ${file.url} (HTTP ${head.status})`);
  return n;
}

/** The byte ranges [a, b) a file of `total` bytes downloads in. */
export function pieceRanges(/** @type {number} */ total) {
  const ranges = [];
  for (let a = 0; a < total; a += CHUNK_BYTES) ranges.push([a, Math.min(a + CHUNK_BYTES, total)]);
  return ranges;
}

/** How many of the file's bytes are not in the cache yet (what a download still has to store). */
export async function missingBytes(/** @type {Cache | null} */ cache, /** @type {string} */ url, /** @type {number} */ total) {
  if (!cache) return total;
  let missing = 0;
  for (const [a, b] of pieceRanges(total)) {
    if (!(await cache.match(chunkKey(url, a, b)))) missing += b - a;
  }
  return missing;
}

/**
 * Bytes [a, b) of the file: from the cache, else one Range request (then cached).
 * @param {Cache | null} cache
 * @param {string} url
 * @param {number} a
 * @param {number} b
 * @param {AbortSignal} [signal]
 * @returns {Promise<{ bytes: Uint8Array, cached: boolean }>}
 */
async function fetchPiece(cache, url, a, b, signal) {
  const key = chunkKey(url, a, b);
  const hit = cache && (await cache.match(key));
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), cached: true };
  const res = await get(
    url,
    { headers: { Range: `bytes=${a}-${b - 1}` }, signal },
    `the download of ${url} was interrupted at byte ${a}`,
  );
  if (res.status === 200 && a > 0) {
    res.body?.cancel();
    throw new WebslmError(
      'NetworkError',
      `${url}: the server ignores HTTP Range requests, which files over ${CHUNK_BYTES} bytes need`,
    );
  }
  if (res.status !== 206 && res.status !== 200) {
    throw new WebslmError('NetworkError', `${url}: HTTP ${res.status} for bytes ${a}-${b - 1}`);
  }
  const range = res.headers.get('content-range');
  if (res.status === 206 && range && !range.startsWith(`bytes ${a}-`)) {
    throw new WebslmError('NetworkError', `${url}: asked for bytes from ${a}, got ${range}`);
  }
  let bytes = await body(res, signal, `the download of ${url} was interrupted in bytes ${a}-${b - 1}`);
  if (res.status === 200) bytes = bytes.subarray(0, b - a); // a server without ranges sent it all
  if (bytes.length !== b - a)
    throw new WebslmError('NetworkError', `${url}: bytes ${a}-${b - 1} arrived short (${bytes.length})`);
  if (cache) {
    try {
      await cache.put(key, new Response(/** @type {Uint8Array<ArrayBuffer>} */ (bytes)));
    } catch (e) {
      if (/** @type {Error} */ (e)?.name === 'QuotaExceededError') throw await quotaErrorAfterPut(b - a);
      throw e;
    }
  }
  return { bytes, cached: false };
}

/**
 * The file's bytes in order, as pieces of CHUNK_BYTES: cached pieces are read back, missing ones
 * fetched with up to CONCURRENCY Range requests in flight and cached as they arrive, so an
 * interrupted download resumes where it stopped.
 * @param {import('./webslm.js').ModelFile} file
 * @param {number} total
 * @param {Cache | null} cache
 * @param {(piece: { bytes: Uint8Array, cached: boolean }) => void} onPiece
 * @param {AbortSignal} [signal]
 */
export async function* filePieces(file, total, cache, onPiece, signal) {
  const ranges = pieceRanges(total);
  /** @type {Map<number, Promise<{ bytes: Uint8Array, cached: boolean }>>} */
  const inFlight = new Map();
  let next = 0;
  const launch = () => {
    while (next < ranges.length && inFlight.size < CONCURRENCY) {
      const [a, b] = ranges[next++];
      const p = fetchPiece(cache, file.url, a, b, signal);
      p.catch(() => {}); // awaited in order below; an unawaited failure must not go unhandled
      inFlight.set(a, p);
    }
  };
  try {
    for (const [a] of ranges) {
      launch();
      const piece = await /** @type {Promise<{ bytes: Uint8Array, cached: boolean }>} */ (inFlight.get(a));
      inFlight.delete(a);
      onPiece(piece);
      yield piece.bytes;
    }
  } finally {
    // When one piece fails (or the reader stops), the others in flight still finish and are
    // cached before this returns, so a retry resumes after them instead of fetching them again.
    await Promise.allSettled(inFlight.values());
  }
}

/** The first `n` bytes of a response body, cancelling the rest (a server may ignore Range). */
async function readAtMost(/** @type {Response} */ res, /** @type {number} */ n) {
  if (!res.body) return new Uint8Array(0);
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

/**
 * The first `want` bytes of the file, with one Range request (checkSupport's header reads).
 * @param {string} url
 * @param {number} want
 * @param {AbortSignal} [signal]
 */
export async function readPrefix(url, want, signal) {
  const res = await get(url, { headers: { Range: `bytes=0-${want - 1}` }, signal }, `could not read the header of ${url}`);
  if (!res.ok) throw new WebslmError('NetworkError', `could not read the header of ${url}: HTTP ${res.status}`);
  let prefix;
  try {
    prefix = await readAtMost(res, want);
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw new WebslmError('NetworkError', `the header of ${url} was interrupted: ${/** @type {Error} */ (e).message}`);
  }
  if (prefix.length < want)
    throw new WebslmError('NetworkError', `${url}: the server sent ${prefix.length} of ${want} header bytes`);
  return prefix;
}

export function concat(/** @type {Uint8Array} */ a, /** @type {Uint8Array} */ b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
