// The wasm module: started once, and every call into it goes through `guard`, so whatever the
// Rust side throws (a kind from src/web.rs, or a panic's RuntimeError) leaves as a WebslmError.

import { toWebslmError, WebslmError } from './errors.js';
import init, * as glue from './generated/webslm_wasm.js';

/** @type {Promise<any> | null} */
let ready = null;

/** Starts the wasm module (once); a failed start (e.g. the file not served) may be retried. */
export function wasm() {
  ready ??= init().catch((/** @type {Error} */ e) => {
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

/**
 * `fn()`'s result with its errors (thrown or rejected) as WebslmErrors; a wasm object it returns
 * (wasm-bindgen objects have `free`) is wrapped the same way, method by method.
 * @param {() => any} fn
 * @returns {any}
 */
function guard(fn) {
  let out;
  try {
    out = fn();
  } catch (e) {
    throw toWebslmError(e);
  }
  if (out instanceof Promise) {
    return out.then(wrapResult, (e) => {
      throw toWebslmError(e);
    });
  }
  return wrapResult(out);
}

/** @param {any} value */
function wrapResult(value) {
  return value && typeof value === 'object' && typeof value.free === 'function' ? wrapObject(value) : value;
}

/**
 * A view of a wasm object whose methods are guarded. Methods run on the object itself, since
 * wasm-bindgen's glue reads its pointer from `this`.
 * @param {object} target
 */
function wrapObject(target) {
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      return (/** @type {any[]} */ ...args) => guard(() => value.apply(obj, args));
    },
  });
}

/** The adapter's capabilities and the kernel path `kernels` gets there (src/web.rs `adapterInfo`). */
export const adapterInfo = (/** @type {string | undefined} */ kernels) => guard(() => glue.adapterInfo(kernels));
/** How many leading bytes of the weight file its header needs. */
export const headerBytesNeeded = (/** @type {string} */ format, /** @type {Uint8Array} */ head, /** @type {number} */ total) =>
  guard(() => glue.headerBytesNeeded(format, head, total));
/** The header's summary: architecture, weight bytes, largest tensor, KV bytes per token. */
export const headerSummary = (/** @type {string} */ format, /** @type {Uint8Array} */ head, /** @type {number} */ total) =>
  guard(() => glue.headerSummary(format, head, total));
/** A WeightLoader for a file of `total` bytes whose header is `head`, on a device running `kernels`. */
export const createWeightLoader = (
  /** @type {string} */ format,
  /** @type {Uint8Array} */ head,
  /** @type {number} */ total,
  /** @type {string | undefined} */ kernels,
) => guard(() => glue.WeightLoader.create(format, head, total, kernels));
