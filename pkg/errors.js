// The package's errors: every kind is listed here once, and every failure that leaves the
// package is a WebslmError whose `name` is one of them, in the page and in the worker alike.
// README.md, webslm.d.ts and src/web.rs list the same kinds (tests/js/drift.test.mjs checks).

/** The kinds the wasm side raises (src/web.rs). */
export const WASM_ERROR_KINDS = Object.freeze([
  'NoWebGPU',
  'DeviceLost',
  'OutOfMemory',
  'GpuError',
  'ContextOverflow',
  'InputTooLong',
  'FormatError',
  'UnsupportedModel',
  'TokenizerError',
  'InvalidConstraint',
  'AdapterError',
  'InvalidRequest',
  'ModelError',
]);

/** Every `name` a WebslmError can have: the wasm side's, then the JS side's. */
export const ERROR_KINDS = Object.freeze([
  ...WASM_ERROR_KINDS,
  'LoadError',
  'UnknownModel',
  'UnknownTask',
  'NetworkError',
  'IntegrityError',
  'QuotaExceededError',
  'WorkerError',
  'AbortError',
  'InternalError',
]);

const KNOWN = new Set(ERROR_KINDS);

/** An error whose `name` says what went wrong (one of ERROR_KINDS). */
export class WebslmError extends Error {
  /**
   * @param {string} name
   * @param {string} message
   * @param {{ needed?: number, available?: number }} [extra]
   */
  constructor(name, message, extra = {}) {
    super(message);
    this.name = name;
    /** QuotaExceededError: bytes the download still needs, and bytes the origin may still use. */
    this.needed = extra.needed;
    this.available = extra.available;
  }
}

/**
 * Any thrown value as a WebslmError: a kind the wasm side (or the browser: AbortError,
 * QuotaExceededError) names keeps its name; anything else is an InternalError that says what it
 * was, since it means a bug rather than bad input.
 * @param {unknown} e
 * @returns {WebslmError}
 */
export function toWebslmError(e) {
  if (e instanceof WebslmError) return e;
  const err = /** @type {{ name?: string, message?: string, needed?: number, available?: number }} */ (e ?? {});
  const message = err.message ?? String(e);
  if (typeof err.name === 'string' && KNOWN.has(err.name)) {
    return new WebslmError(err.name, message, { needed: err.needed, available: err.available });
  }
  return new WebslmError('InternalError', `${err.name ?? typeof e}: ${message}`);
}

/** The error an aborted call rejects with. */
export function abortError(/** @type {AbortSignal | undefined} */ signal) {
  const reason = /** @type {{ message?: string } | undefined} */ (signal?.reason);
  return new WebslmError('AbortError', reason?.message ?? 'the operation was aborted');
}

export function throwIfAborted(/** @type {AbortSignal | undefined} */ signal) {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * `promise`, or an AbortError as soon as `signal` fires (the work behind `promise` is not
 * stopped: a wasm call runs to its end, and its result is dropped).
 * @template T
 * @param {Promise<T>} promise
 * @param {AbortSignal | undefined} signal
 * @returns {Promise<T>}
 */
export function abortable(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
