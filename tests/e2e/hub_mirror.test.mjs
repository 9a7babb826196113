// A catalogue id through a local hub mirror in headless Chromium: scripts/serve.mjs answers the
// hub's layout under /hub/ (/<repo>/resolve/<commit>/<file>, only the URLs the catalogue pins)
// with models/all-minilm-l6-v2. createEngine('all-minilm-l6-v2', { hubUrl }) downloads from it,
// checks every file against the catalogue's sha256, and embeds exactly as the same files given by
// URL; a decoder's GGUF variant is one file; a mirror serving corrupted bytes is an IntegrityError
// and leaves nothing cached.
//
//   scripts/build-pkg.sh && node --test tests/e2e/hub_mirror.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openHarness, ROOT } from './harness.mjs';

const ID = 'all-minilm-l6-v2';
const MINILM = '/models/all-minilm-l6-v2';
const TEXT = 'A mirror of the hub, on this machine.';
const entry = JSON.parse(readFileSync(join(ROOT, 'src/catalogue/models.json'), 'utf8')).models.find((m) => m.id === ID);

/** @type {Awaited<ReturnType<typeof openHarness>>} */
let h;
before(async () => (h = await openHarness()));
after(async () => Promise.all([h?.browser.close(), h?.server.close()]));

test('a catalogue id loads through hubUrl (in the worker), verified, and embeds as the local files do', async () => {
  const hubUrl = `${h.server.origin}/hub`;
  const local = { url: `${MINILM}/model.safetensors`, configUrl: `${MINILM}/config.json`, tokenizerUrl: `${MINILM}/tokenizer.json`, task: 'feature-extraction' };
  const got = await h.page.evaluate(
    async ({ id, hubUrl, local, text }) => {
      const { createEngine, checkSupport, hasModelInCache } = window.webslm;
      const mirrored = await createEngine(id, { hubUrl });
      const a = (await mirrored.embeddings.create({ input: text })).data[0].embedding;
      const info = mirrored.loadInfo;
      await mirrored.unload();
      const own = await createEngine(local);
      const b = (await own.embeddings.create({ input: text })).data[0].embedding;
      await own.unload();
      const support = await checkSupport(id, { hubUrl });
      return { a, b, sha256: info.sha256, sizes: support.catalogue, cached: await hasModelInCache(id, { hubUrl }) };
    },
    { id: ID, hubUrl, local, text: TEXT },
  );
  assert.deepEqual(got.a, got.b, 'the mirrored download embeds differently from the local copy');
  const weights = entry.files.find((f) => f.path === 'model.safetensors');
  assert.equal(got.sha256, weights.sha256);
  assert.ok(got.cached, 'the verified download is cached');
  // Every file came from the mirror, at the catalogue's pinned commit.
  const pinned = new URL(weights.url).pathname;
  assert.ok(h.server.requests.includes(`/hub${pinned}`), `no request for /hub${pinned}`);
  assert.ok(h.server.requests.includes(`/hub${pinned.replace('model.safetensors', 'tokenizer.json')}`));
  assert.equal(got.sizes.variant, entry.variant);
  assert.equal(got.sizes.variants[0].downloadBytes, entry.files.reduce((s, f) => s + f.size, 0));
  assert.equal(got.sizes.variants[0].gpuMemoryBytes, entry.gpu_memory_mb * 2 ** 20);
});

test("a decoder's GGUF variant loads through hubUrl as one file and continues the prompt", { timeout: 300_000 }, async () => {
  const hubUrl = `${h.server.origin}/hub`;
  const start = h.server.requests.length;
  const got = await h.page.evaluate(async (hubUrl) => {
    const engine = await window.webslm.createEngine('smollm2-135m-instruct', { variant: 'q4_1', hubUrl, contextLength: 64 });
    const out = await engine.completions.create({ prompt: 'The capital of France is', max_tokens: 2, temperature: 0 });
    const sha256 = engine.loadInfo.sha256;
    await engine.unload();
    return { text: out.choices[0].text, sha256 };
  }, hubUrl);
  const smol = JSON.parse(readFileSync(join(ROOT, 'src/catalogue/models.json'), 'utf8')).models.find((m) => m.id === 'smollm2-135m-instruct');
  const file = smol.variants.find((v) => v.id === 'q4_1').files[0];
  assert.equal(got.sha256, file.sha256);
  assert.match(got.text, /^ Paris/, 'SmolLM2 continues " Paris" (llama.cpp does too)');
  const fetched = new Set(h.server.requests.slice(start).filter((p) => p.startsWith('/hub/')));
  assert.deepEqual([...fetched], [`/hub${new URL(file.url).pathname}`], 'one file, from the mirror');
});

test('a mirror serving corrupted bytes is an IntegrityError (on the page) and leaves nothing cached', async () => {
  const hubUrl = `${h.server.origin}/corrupt/hub`;
  const result = await h.page.evaluate(
    async ({ id, hubUrl }) => {
      try {
        await window.webslm.createEngine(id, { hubUrl, worker: false });
        return { name: 'no error' };
      } catch (e) {
        const cache = await caches.open('webslm-v1');
        const left = (await cache.keys()).map((k) => k.url).filter((u) => u.includes('/corrupt/'));
        return { name: e.name, message: e.message, left, cached: await window.webslm.hasModelInCache(id, { hubUrl }) };
      }
    },
    { id: ID, hubUrl },
  );
  assert.equal(result.name, 'IntegrityError', result.message);
  assert.match(result.message, /\/corrupt\/hub\/sentence-transformers\/all-MiniLM-L6-v2\/resolve\/[0-9a-f]{40}\//);
  assert.deepEqual(result.left, []);
  assert.equal(result.cached, false);
});

test('a gated model refused with HTTP 401 is a NetworkError naming its licence page', async () => {
  const gated = JSON.parse(readFileSync(join(ROOT, 'src/catalogue/models.json'), 'utf8')).models.find((m) => m.gated);
  const result = await h.page.evaluate(
    async ({ id, hubUrl }) => {
      try {
        await window.webslm.createEngine(id, { hubUrl });
        return { name: 'no error' };
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    },
    { id: gated.id, hubUrl: `${h.server.origin}/gated` },
  );
  assert.equal(result.name, 'NetworkError');
  assert.ok(result.message.includes(`HTTP 401`), result.message);
  assert.ok(result.message.includes(`${gated.id} is gated: accept its licence at ${gated.license_url}`), result.message);
});

test('an unknown variant is UnknownModel naming the variants, before any fetch', async () => {
  const start = h.server.requests.length;
  const result = await h.page.evaluate(async (id) => {
    try {
      await window.webslm.createEngine(id, { variant: 'no-such-variant' });
      return { name: 'no error' };
    } catch (e) {
      return { name: e.name, message: e.message };
    }
  }, ID);
  assert.equal(result.name, 'UnknownModel');
  assert.match(result.message, new RegExp(`has no variant 'no-such-variant'; its variants are ${entry.variant}`));
  assert.equal(h.server.requests.slice(start).filter((p) => p.startsWith('/hub/')).length, 0);
});
