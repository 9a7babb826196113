// End-to-end tests of the npm package (pkg/) in headless Chromium with SwiftShader WebGPU, pages
// and models served from 127.0.0.1 (the flags are in `launch` below). Each result
// is compared with the native CLI on the same inputs.
//
//   scripts/build-pkg.sh && cargo build --release && node --test tests/e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'target', 'release', 'webslm');
const FLAGS = ['--no-sandbox', '--disable-gpu-sandbox', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];

let server;
let browser;
let page;
const pageRequests = [];

function sha256(path) {
  return createHash('sha256').update(readFileSync(join(ROOT, path))).digest('hex');
}

function native(args) {
  const out = execFileSync(CLI, args, { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', WGPU_BACKEND: 'vulkan' } });
  return JSON.parse(out.toString().trim().split('\n').pop());
}

async function launch(webgpu) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: webgpu ? ['--enable-unsafe-webgpu', ...FLAGS] : FLAGS,
  });
}

async function openHarness(b) {
  const context = await b.newContext();
  const p = await context.newPage();
  p.on('request', (r) => pageRequests.push(r.url()));
  p.on('console', (m) => {
    if (m.type() === 'error' || m.text().startsWith('MiniLM')) console.log('[page]', m.text());
  });
  await p.goto(`${server.origin}/tests/e2e/pages/harness.html`);
  await p.waitForFunction(() => document.title === 'ready');
  return p;
}

const MINILM = 'models/all-minilm-l6-v2';
const minilmSpec = () => ({
  url: `/${MINILM}/model.safetensors`, sha256: sha256(`${MINILM}/model.safetensors`),
  configUrl: `/${MINILM}/config.json`, tokenizerUrl: `/${MINILM}/tokenizer.json`, task: 'feature-extraction',
});
const SST = 'tests/fixtures/encoders/tiny-distilbert-sst';
const sstSpec = (prefix = '') => ({
  url: `${prefix}/${SST}/model.safetensors`, sha256: sha256(`${SST}/model.safetensors`),
  configUrl: `/${SST}/config.json`, tokenizerUrl: `/${SST}/tokenizer.json`, task: 'text-classification',
});

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg/generated/webslm_wasm_bg.wasm')), 'run scripts/build-pkg.sh first');
  server = await startServer(ROOT);
  browser = await launch(true);
  page = await openHarness(browser);
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('(c) MiniLM embeddings match the native CLI within 1e-4', async () => {
  const texts = ['Hello world.', 'Les données restent sur l’appareil. 🔒', 'A third, somewhat longer sentence about embeddings.'];
  const got = await page.evaluate(async ({ spec, texts }) => {
    const engine = await window.webslm.createEngine(spec);
    const out = await engine.embeddings.create({ input: texts });
    console.log(`MiniLM first load: ${JSON.stringify(engine.loadInfo)}`);
    return out.data.map((d) => Array.from(d.embedding));
  }, { spec: minilmSpec(), texts });
  const want = native(['embed', '--model', join(ROOT, MINILM), ...texts.flatMap((t) => ['--text', t])]).embeddings;
  assert.equal(got.length, want.length);
  let worst = 0;
  got.forEach((v, i) => {
    v.forEach((x, j) => {
      worst = Math.max(worst, Math.abs(x - want[i][j]));
    });
  });
  console.log(`MiniLM browser vs native: max |difference| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4, `max difference ${worst}`);
});

test('(b) after a reload the weights come from the cache, with no network request', async () => {
  const weights = `/${MINILM}/model.safetensors`;
  assert.ok(server.requests.includes(weights), 'the first load fetched the weights');
  const before = server.requests.length;
  await page.reload();
  await page.waitForFunction(() => document.title === 'ready');
  const ok = await page.evaluate(async (spec) => {
    const cached = await window.webslm.hasModelInCache(spec);
    const engine = await window.webslm.createEngine(spec);
    const out = await engine.embeddings.create({ input: 'offline' });
    console.log(`MiniLM warm load: ${JSON.stringify(engine.loadInfo)}`);
    return cached && out.data[0].embedding.length === 384 && engine.loadInfo.fromCache;
  }, minilmSpec());
  assert.ok(ok);
  const fetched = server.requests.slice(before).filter((p) => p.startsWith(`/${MINILM}/`));
  assert.deepEqual(fetched, [], 'model files fetched again after reload');
});

test('(d) the sentiment pipeline on a tiny fixture equals the native CLI', async () => {
  const text = 'What a wonderful, delightful day!';
  const got = await page.evaluate(async ({ spec, text }) => {
    // On the page's own thread (the other tests use the default Web Worker).
    const classify = await window.webslm.pipeline('sentiment-analysis', spec, { worker: false });
    return classify(text);
  }, { spec: sstSpec(), text });
  const want = native(['classify', '--model', join(ROOT, SST), '--text', text]).labels[0];
  assert.equal(got[0].label, want.label);
  assert.ok(Math.abs(got[0].score - want.score) < 1e-4, `${got[0].score} vs ${want.score}`);
});

test('(i) BERT vocab.txt tokenizers: the wasm build gives transformers\' ids, and MiniLM from vocab.txt embeds as from tokenizer.json', async () => {
  // tests/fixtures/wordpiece/encodings.json: BertTokenizerFast on uncased, cased and cased-strip
  // vocabularies (scripts/fixtures/make_wordpiece_fixtures.py); tests/tokenizer_wordpiece.rs
  // checks offsets and pairs natively, this checks the wasm build's ids.
  const fixture = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/wordpiece/encodings.json'), 'utf8'));
  const mismatches = await page.evaluate(async (fixture) => {
    const glue = await import('/pkg/generated/webslm_wasm.js');
    await glue.default();
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const json = (v) => (v ? new TextEncoder().encode(JSON.stringify(v)) : undefined);
    const out = [];
    for (const [name, c] of Object.entries(fixture.cases)) {
      const vocab = await bytes(`/${c.vocab}`);
      const ids = glue.vocabTxtIds(vocab, json(c.tokenizer_config), json(c.special_tokens_map), fixture.strings);
      fixture.strings.forEach((s, i) => {
        if (JSON.stringify(ids[i]) !== JSON.stringify(c.singles[i].ids)) out.push(`${name} ${JSON.stringify(s)}: ${ids[i]}`);
      });
    }
    return out;
  }, fixture);
  assert.deepEqual(mismatches, []);

  const texts = ['Héllo WORLD, Ça va?', '中文English混合 🤖', 'A third, somewhat longer sentence about embeddings.'];
  const { vocabEmbeddings, jsonEmbeddings } = await page.evaluate(async ({ json, vocab, texts }) => {
    const embed = async (spec) => {
      const engine = await window.webslm.createEngine(spec);
      const out = await engine.embeddings.create({ input: texts });
      await engine.unload();
      return out.data.map((d) => Array.from(d.embedding));
    };
    return { jsonEmbeddings: await embed(json), vocabEmbeddings: await embed(vocab) };
  }, {
    json: minilmSpec(),
    vocab: { ...minilmSpec(), tokenizerUrl: undefined, vocabUrl: `/${MINILM}/vocab.txt`, tokenizerConfigUrl: `/${MINILM}/tokenizer_config.json` },
    texts,
  });
  // Same ids, same device, same kernels: the same bits.
  assert.deepEqual(vocabEmbeddings, jsonEmbeddings);
  assert.ok(server.requests.includes(`/${MINILM}/vocab.txt`) && server.requests.includes(`/${MINILM}/tokenizer_config.json`));
});

test('(e) a corrupted weight file is an IntegrityError and leaves the cache clean', async () => {
  const result = await page.evaluate(async (spec) => {
    try {
      await window.webslm.createEngine(spec);
      return { name: 'no error' };
    } catch (e) {
      // Nothing of the corrupted download may stay: no piece, no completion marker.
      const cache = await caches.open('webslm-v1');
      const left = (await cache.keys()).map((k) => k.url).filter((u) => u.includes('/corrupt/'));
      return { name: e.name, message: e.message, cached: await window.webslm.hasModelInCache(spec), left };
    }
  }, sstSpec('/corrupt'));
  assert.equal(result.name, 'IntegrityError', result.message);
  assert.equal(result.cached, false);
  assert.deepEqual(result.left, []);
});

test('(a) SmolLM2 greedy chat gives the native CLI\'s first 16 token ids', { timeout: 600_000 }, async () => {
  const gguf = 'models/SmolLM2-135M-Instruct.Q4_1.gguf';
  const messages = [{ role: 'user', content: 'What is the capital of France?' }];
  const got = await page.evaluate(async ({ url, messages }) => {
    const engine = await window.webslm.createEngine({ url, task: 'text-generation' }, { contextLength: 256 });
    const memory = await engine.wasmMemoryBytes();
    const reply = await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 16 });
    // The same reply streamed, then a stream interrupted after its first piece.
    let streamed = '';
    let last = null;
    for await (const chunk of await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 16, stream: true })) {
      streamed += chunk.choices[0].delta.content ?? '';
      last = chunk;
    }
    let pieces = 0;
    let stopped = null;
    for await (const chunk of await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 16, stream: true })) {
      if (pieces++ === 0) engine.interrupt();
      stopped = chunk;
    }
    const warm = await window.webslm.createEngine({ url, task: 'text-generation' }, { contextLength: 256 });
    return {
      prompt: await engine.promptIds(messages), ids: reply.webslm.ids, text: reply.choices[0].message.content,
      memory, load: engine.loadInfo, warm: warm.loadInfo, streamed, finish: last.choices[0].finish_reason,
      interrupted: stopped.choices[0].finish_reason, pieces, replyFinish: reply.choices[0].finish_reason,
    };
  }, { url: `/${gguf}`, messages });
  const want = native(['generate', '--model', join(ROOT, gguf), '--ids', got.prompt.join(','), '--max-tokens', '16', '--temperature', '0', '--json']);
  console.log(`SmolLM2 in the browser: ${JSON.stringify(got.text)}; load ${JSON.stringify(got.load)}; wasm memory ${got.memory} bytes`);
  // The weights streamed through: wasm memory never held the model, only about one tensor.
  assert.ok(got.memory < 2 * got.load.largestTensorBytes, `wasm memory ${got.memory} vs largest tensor ${got.load.largestTensorBytes}`);
  console.log(`SmolLM2 warm load: ${JSON.stringify(got.warm)}`);
  assert.ok(got.warm.fromCache);
  assert.equal(got.streamed, got.text, 'streamed pieces spell the whole reply');
  assert.equal(got.finish, got.replyFinish);
  assert.equal(got.interrupted, 'abort');
  assert.ok(got.pieces < 16, `interrupted after ${got.pieces} pieces`);
  assert.deepEqual(got.ids, want.ids.slice(0, got.ids.length));
  assert.equal(got.ids.length, Math.min(16, want.ids.length));
});

test('(f) an interrupted download resumes without fetching finished pieces again', async () => {
  const spec = { ...minilmSpec(), url: `/flaky/${MINILM}/model.safetensors` };
  const path = spec.url;
  const first = await page.evaluate(async (spec) => {
    try {
      await window.webslm.createEngine(spec);
      return 'no error';
    } catch (e) {
      return e.name;
    }
  }, spec);
  assert.equal(first, 'NetworkError');
  const firstRanges = server.ranges.filter((r) => r.key.startsWith(path));
  const finished = new Set(firstRanges.filter((r) => r.ok).map((r) => r.key));
  assert.ok(finished.size >= 3, `pieces finished before the drop: ${[...finished]}`);
  const second = await page.evaluate(async (spec) => {
    const engine = await window.webslm.createEngine(spec);
    const out = await engine.embeddings.create({ input: 'resumed' });
    return { dims: out.data[0].embedding.length, info: engine.loadInfo };
  }, spec);
  assert.equal(second.dims, 384);
  const again = server.ranges.filter((r) => r.key.startsWith(path)).slice(firstRanges.length).map((r) => r.key);
  assert.deepEqual(again.filter((k) => finished.has(k)), [], 'finished pieces were fetched again');
  assert.ok(again.length > 0 && second.info.fetchedBytes < second.info.weightBytes);
  console.log(`resume: ${finished.size} pieces kept, ${again.length} fetched after the interruption`);
});

test('checkSupport reads only the header: adapter limits and a memory estimate', async () => {
  const gguf = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
  const before = server.ranges.length;
  const report = await page.evaluate((url) => window.webslm.checkSupport({ url }), gguf);
  assert.equal(report.ok, true, report.reasons.join('; '));
  assert.equal(report.architecture, 'llama');
  assert.equal(report.adapter.shader_f16, false, 'SwiftShader has no shader-f16');
  assert.ok(report.estimate.weightBytes > 90e6 && report.estimate.kvCacheBytes > 0);
  const read = server.ranges.slice(before).filter((r) => r.key.startsWith(gguf));
  assert.ok(read.length >= 1 && read.length <= 3, `header reads: ${read.map((r) => r.key)}`);
  assert.ok(read.every((r) => Number(r.key.split('-').pop()) < 8 << 20), 'only the header was read');
});

test('(g) no request left 127.0.0.1', () => {
  const elsewhere = pageRequests.filter((u) => !u.startsWith(server.origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(elsewhere, []);
  assert.ok(pageRequests.length > 0);
});

test('(h) without WebGPU, a typed NoWebGPU error with a readable message', async () => {
  const plain = await launch(false);
  try {
    const p = await openHarness(plain);
    const err = await p.evaluate(async (spec) => {
      try {
        await window.webslm.createEngine(spec);
        return { name: 'no error' };
      } catch (e) {
        return { name: e.name, message: e.message };
      }
    }, sstSpec());
    assert.equal(err.name, 'NoWebGPU', err.message);
    assert.match(err.message, /WebGPU/);
  } finally {
    await plain.close();
  }
});
