// The engine's Web Worker: webslm.js runs here, off the page's main thread, and talks to the
// page's proxy (createEngine with worker: true) through typed messages:
//   page -> worker: { id, type: 'load', model, options } | { id, type: 'call', path, args }
//                   | { id, type: 'stream', path, args } | { type: 'interrupt' }
//   worker -> page: { id, type: 'progress', progress } | { id, type: 'loaded', shape }
//                   | { id, type: 'result', value } | { id, type: 'chunk', chunk } | { id, type: 'done' }
//                   | { id, type: 'error', error: { name, message, ... } }
import { createEngine } from './webslm.js';

let engine = null;

function target(path) {
  let obj = engine;
  for (const key of path.slice(0, -1)) obj = obj[key];
  return { obj, fn: obj[path[path.length - 1]] };
}

self.onmessage = async ({ data: msg }) => {
  const reply = (m) => self.postMessage({ id: msg.id, ...m });
  try {
    if (msg.type === 'interrupt') {
      engine?.interrupt?.();
    } else if (msg.type === 'load') {
      const onProgress = (progress) => reply({ type: 'progress', progress });
      engine = await createEngine(msg.model, { ...msg.options, worker: false, onProgress });
      reply({ type: 'loaded', shape: { model: engine.model, loadInfo: engine.loadInfo, decoder: Boolean(engine.chat) } });
    } else if (msg.type === 'call') {
      const { obj, fn } = target(msg.path);
      reply({ type: 'result', value: await fn.apply(obj, msg.args) });
    } else if (msg.type === 'stream') {
      const { obj, fn } = target(msg.path);
      for await (const chunk of await fn.apply(obj, msg.args)) reply({ type: 'chunk', chunk });
      reply({ type: 'done' });
    }
  } catch (e) {
    reply({ type: 'error', error: { name: e?.name ?? 'Error', message: e?.message ?? String(e), needed: e?.needed, available: e?.available } });
  }
};
