// The engine's Web Worker: the package runs here, off the page's main thread, and answers the
// page's proxy (worker_proxy.js) in the protocol of messages.js.

import { createEngine } from './engine.js';
import { WebslmError } from './errors.js';
import { engineKind, errorMessage, METHODS, MSG, methodAt } from './messages.js';

/** @type {any} */
let engine = null;
/** The running calls' AbortControllers, by message id. */
const controllers = new Map();

/** @param {{ data: any }} event */
self.onmessage = async ({ data: msg }) => {
  if (msg.type === MSG.abort) {
    controllers.get(msg.id)?.abort();
    return;
  }
  if (msg.type === MSG.interrupt) {
    engine?.interrupt?.();
    return;
  }
  const reply = (/** @type {object} */ m) => self.postMessage({ id: msg.id, ...m });
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  if (msg.aborted) controller.abort();
  const signal = controller.signal;
  try {
    if (msg.type === MSG.load) {
      const onProgress = (/** @type {unknown} */ progress) => reply({ type: MSG.progress, progress });
      engine = await createEngine(msg.model, { ...msg.options, worker: false, onProgress, signal });
      reply({ type: MSG.loaded, shape: { model: engine.model, loadInfo: engine.loadInfo, kind: engineKind(engine) } });
    } else if (msg.type === MSG.call) {
      /** @type {Readonly<Record<string, number>>} */
      const methods = METHODS[engineKind(engine ?? {})];
      const at = methods[msg.path];
      if (at === undefined) throw new WebslmError('InternalError', `the engine has no method ${msg.path}`);
      const fn = methodAt(engine, msg.path);
      const args = [...msg.args];
      if (at !== undefined && at >= 0) args[at] = { ...args[at], signal };
      const value = await fn(...args);
      if (msg.stream) {
        for await (const chunk of value) reply({ type: MSG.chunk, chunk });
        reply({ type: MSG.done });
      } else {
        reply({ type: MSG.result, value });
      }
    }
  } catch (e) {
    reply({ type: MSG.error, error: errorMessage(e) });
  } finally {
    controllers.delete(msg.id);
  }
};
