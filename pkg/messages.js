// The worker protocol, defined once for pkg/worker.js and its page-side proxy (worker_proxy.js):
//   page -> worker: { id, type: 'load', model, options, aborted } | { id, type: 'call', path, args, stream, aborted }
//                   | { id, type: 'abort' } | { type: 'interrupt' }
//   worker -> page: { id, type: 'progress', progress } | { id, type: 'loaded', shape }
//                   | { id, type: 'result', value } | { id, type: 'chunk', chunk } | { id, type: 'done' }
//                   | { id, type: 'error', error: { name, message, needed?, available? } }
// An AbortSignal cannot cross postMessage: the proxy strips it and sends 'abort' when it fires,
// and the worker gives the call a signal of its own (`aborted`: the signal had fired already).

import { toWebslmError, WebslmError } from './errors.js';

export const MSG = Object.freeze({
  load: 'load',
  call: 'call',
  abort: 'abort',
  interrupt: 'interrupt',
  progress: 'progress',
  loaded: 'loaded',
  result: 'result',
  chunk: 'chunk',
  done: 'done',
  error: 'error',
});

/**
 * The methods of each engine kind, by path, with the position of their trailing options
 * argument (`{ signal }`), or -1 when they take none.
 * @type {Readonly<Record<'decoder' | 'textModel', Readonly<Record<string, number>>>>}
 */
export const METHODS = Object.freeze({
  decoder: Object.freeze({
    'chat.completions.create': 1,
    'completions.create': 1,
    tokenize: 1,
    promptIds: 1,
    resetCache: 0,
    loadAdapter: 1,
    unloadAdapter: 1,
    adapters: -1,
    deviceRecoveries: -1,
    loseDeviceForTest: -1,
    wasmMemoryBytes: -1,
    unload: -1,
  }),
  textModel: Object.freeze({
    'embeddings.create': 1,
    classify: 1,
    ner: 2,
    qa: 3,
    loadAdapter: 1,
    unloadAdapter: 1,
    adapters: -1,
    wasmMemoryBytes: -1,
    unload: -1,
  }),
});

/** Methods that return an async iterable of chunks when the request says `stream: true`. */
export const STREAMING = Object.freeze(['chat.completions.create', 'completions.create']);

/** Which kind of engine this is (decoders chat; encoders embed). */
export const engineKind = (/** @type {object} */ engine) => ('chat' in engine ? 'decoder' : 'textModel');

/**
 * The method at `path` ('a.b.c') of `root`, bound to its object.
 * @param {any} root
 * @param {string} path
 * @returns {(...args: any[]) => any}
 */
export function methodAt(root, path) {
  const keys = path.split('.');
  let obj = root;
  for (const key of keys.slice(0, -1)) obj = obj?.[key];
  const fn = obj?.[keys[keys.length - 1]];
  if (typeof fn !== 'function') throw new WebslmError('InternalError', `the engine has no method ${path}`);
  return fn.bind(obj);
}

/**
 * Sets `root`'s member at `path` ('a.b.c'), making the objects on the way.
 * @param {any} root
 * @param {string} path
 * @param {unknown} value
 */
export function setAt(root, path, value) {
  const keys = path.split('.');
  let obj = root;
  for (const key of keys.slice(0, -1)) obj = obj[key] ??= {};
  obj[keys[keys.length - 1]] = value;
}

/** An error as a message field (an Error's own fields do not survive postMessage in all browsers). */
export function errorMessage(/** @type {unknown} */ e) {
  const w = toWebslmError(e);
  return { name: w.name, message: w.message, needed: w.needed, available: w.available };
}
