// The browser pieces the package touches, faked in Node: a file server behind `fetch` (Range,
// HEAD, per-piece delays or failures, AbortSignal), the Cache API in memory, and
// `navigator.gpu` / `navigator.storage`.

export const MiB = 1 << 20;

/** Deterministic bytes of a fake weight file. */
export function fakeBytes(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * Installs a `fetch` serving `files` (url -> Uint8Array). `hold(url, start)` may return a
 * promise the response waits for, or 'fail' for an HTTP 500. Records every request in `calls`.
 */
export function installFetch(files, { hold = () => null } = {}) {
  const calls = [];
  globalThis.fetch = async (url, init = {}) => {
    const signal = init.signal;
    const range = init.headers?.Range;
    calls.push({ url, method: init.method ?? 'GET', range });
    const abortable = (p) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
        signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true });
        p.then(resolve, reject);
      });
    const bytes = files[url];
    if (!bytes) return new Response('not found', { status: 404 });
    if (init.method === 'HEAD') return new Response(null, { headers: { 'content-length': String(bytes.length) } });
    if (!range) return new Response(bytes.slice(), { headers: { 'content-length': String(bytes.length) } });
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(range).map(Number);
    const wait = hold(url, a);
    if (wait === 'fail') return new Response('boom', { status: 500 });
    if (wait) await abortable(wait);
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return new Response(bytes.slice(a, b + 1), {
      status: 206,
      headers: { 'content-range': `bytes ${a}-${b}/${bytes.length}` },
    });
  };
  return calls;
}

/** The Cache API in memory (`store` maps a key to its bytes); `openThrows` makes open() fail. */
export function installCaches({ openThrows = null } = {}) {
  const store = new Map();
  const cache = {
    async match(key) {
      const v = store.get(String(key));
      return v ? new Response(v.slice()) : undefined;
    },
    async put(key, res) {
      store.set(String(key), new Uint8Array(await res.arrayBuffer()));
    },
    async delete(key) {
      return store.delete(typeof key === 'string' ? key : key.url);
    },
    async keys() {
      return [...store.keys()].map((url) => ({ url: new URL(url, 'http://localhost/').href }));
    },
  };
  globalThis.caches = {
    async open() {
      if (openThrows) throw openThrows;
      return cache;
    },
  };
  return store;
}

/** `navigator` with WebGPU present and a storage estimate of `quota` and `usage` bytes. */
export function installNavigator({ quota = 2 ** 40, usage = 0 } = {}) {
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { gpu: {}, storage: { estimate: async () => ({ quota, usage }), persist: async () => false } },
  });
}

/** A model spec of fake files served by installFetch. */
export function fakeModel(task, size, { sha256 } = {}) {
  const files = {
    '/m/model.safetensors': fakeBytes(size),
    '/m/config.json': new TextEncoder().encode('{}'),
    '/m/tokenizer.json': new TextEncoder().encode('{}'),
  };
  const spec = {
    url: '/m/model.safetensors',
    size,
    sha256,
    configUrl: '/m/config.json',
    tokenizerUrl: '/m/tokenizer.json',
    task,
  };
  return { files, spec };
}

/**
 * A decoder and an encoder on the stub model (tests/js/stubs/wasm.mjs), loaded on the page's
 * thread from fake files.
 */
export async function loadStubEngines(createEngine) {
  installCaches();
  installNavigator();
  const d = fakeModel('text-generation', 1 * MiB);
  installFetch(d.files);
  const decoder = await createEngine(d.spec, { worker: false });
  const encoder = await createEngine({ ...d.spec, task: 'feature-extraction' }, { worker: false });
  return { decoder, encoder };
}
