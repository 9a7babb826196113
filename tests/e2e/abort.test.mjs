// AbortSignal in headless Chromium (issue 14, fault 3), on the page's thread and in the Web
// Worker: an aborted download rejects with AbortError and keeps its finished pieces (the next load
// fetches only the rest), a generation stopped by its signal finishes with 'abort', an aborted
// embeddings call rejects with AbortError, and errors are WebslmErrors in both modes.
//
//   scripts/build-pkg.sh && node --test tests/e2e/abort.test.mjs
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openHarness, ROOT } from './harness.mjs';

const MINILM = 'models/all-minilm-l6-v2';
const PIECE = 8 << 20;
// A tiny llama with its tokenizer in the GGUF: generation is quick, and its ids need no template.
const TINY = '/tests/fixtures/decoders/tiny-llama3/model-q8_0.gguf';

let server;
let browser;
let page;

before(async () => {
  ({ server, browser, page } = await openHarness());
});

after(async () => {
  await browser?.close();
  server?.close();
});

for (const worker of [false, true]) {
  const mode = worker ? 'worker' : 'page';

  test(`${mode}: an aborted download rejects with AbortError, keeps its finished pieces, and resumes`, async () => {
    const path = `/${MINILM}/model.safetensors`;
    const size = statSync(join(ROOT, MINILM, 'model.safetensors')).size;
    const pieces = Math.ceil(size / PIECE);
    // A query of its own: this mode's download starts from an empty cache.
    const spec = { url: `${path}?abort=${mode}`, configUrl: `/${MINILM}/config.json`, tokenizerUrl: `/${MINILM}/tokenizer.json`, task: 'feature-extraction' };
    const first = await page.evaluate(
      async ({ spec, worker }) => {
        const controller = new AbortController();
        try {
          await window.webslm.createEngine(spec, { worker, signal: controller.signal, onProgress: () => controller.abort() });
          return { name: 'no error' };
        } catch (e) {
          const cache = await caches.open('webslm-v1');
          const keys = (await cache.keys()).map((k) => k.url).filter((u) => u.includes(`abort=${spec.url.split('abort=')[1]}`));
          return {
            name: e.name,
            webslm: e instanceof window.webslm.WebslmError,
            pieces: keys.filter((u) => u.includes('webslm_bytes')).length,
            complete: keys.some((u) => u.includes('webslm_complete')),
          };
        }
      },
      { spec, worker },
    );
    assert.equal(first.name, 'AbortError');
    assert.ok(first.webslm, 'the AbortError is a WebslmError');
    assert.ok(first.pieces >= 1 && first.pieces < pieces, `${first.pieces} of ${pieces} pieces cached`);
    assert.equal(first.complete, false);

    const before = server.ranges.length;
    const second = await page.evaluate(
      async ({ spec, worker }) => {
        const engine = await window.webslm.createEngine(spec, { worker });
        const out = await engine.embeddings.create({ input: 'resumed' });
        await engine.unload();
        return { dims: out.data[0].embedding.length, info: engine.loadInfo };
      },
      { spec, worker },
    );
    assert.equal(second.dims, 384);
    const fetched = server.ranges.slice(before).filter((r) => r.key.startsWith(path));
    assert.equal(fetched.length, pieces - first.pieces, 'only the missing pieces were fetched');
    assert.ok(second.info.fetchedBytes < size);
    console.log(`${mode}: abort kept ${first.pieces} of ${pieces} pieces; the resume fetched ${fetched.length}`);
  });

  test(`${mode}: a generation stopped by its signal finishes with 'abort'`, async () => {
    const got = await page.evaluate(
      async ({ url, worker }) => {
        const engine = await window.webslm.createEngine({ url, task: 'text-generation' }, { worker, contextLength: 128 });
        const req = { prompt: [448, 10, 20, 30], max_tokens: 100, ignore_eos: true, temperature: 0 };
        // Streamed: the signal fires after the third piece.
        const streamStop = new AbortController();
        const chunks = [];
        // Queued behind the stream, and aborted before its turn: it never runs.
        const queuedStop = new AbortController();
        const stream = await engine.completions.create({ ...req, stream: true }, { signal: streamStop.signal });
        const queued = engine.completions.create(req, { signal: queuedStop.signal });
        for await (const chunk of stream) {
          chunks.push(chunk);
          if (chunks.length === 3) {
            streamStop.abort();
            queuedStop.abort();
          }
        }
        const full = await engine.completions.create(req);
        const waited = await queued;
        const pre = await engine.completions.create(req, { signal: AbortSignal.abort() });
        await engine.unload();
        return {
          streamed: chunks.length,
          streamFinish: chunks[chunks.length - 1].choices[0].finish_reason,
          queuedFinish: waited.choices[0].finish_reason,
          queuedTokens: waited.usage.completion_tokens,
          fullFinish: full.choices[0].finish_reason,
          fullTokens: full.usage.completion_tokens,
          preFinish: pre.choices[0].finish_reason,
          preTokens: pre.usage.completion_tokens,
        };
      },
      { url: TINY, worker },
    );
    assert.equal(got.streamFinish, 'abort');
    assert.ok(got.streamed < 20, `${got.streamed} chunks after the abort at 3`);
    assert.equal(got.queuedFinish, 'abort');
    assert.equal(got.queuedTokens, 0);
    assert.equal(got.fullFinish, 'length', 'a request without a signal runs to max_tokens');
    assert.equal(got.fullTokens, 100);
    assert.deepEqual([got.preFinish, got.preTokens], ['abort', 0], 'a signal aborted before the call stops it before it runs');
  });

  test(`${mode}: an aborted embeddings call rejects with AbortError; the engine still works`, async () => {
    const spec = { url: `/${MINILM}/model.safetensors`, configUrl: `/${MINILM}/config.json`, tokenizerUrl: `/${MINILM}/tokenizer.json`, task: 'feature-extraction' };
    const got = await page.evaluate(
      async ({ spec, worker }) => {
        const engine = await window.webslm.createEngine(spec, { worker });
        const controller = new AbortController();
        const call = engine.embeddings.create({ input: ['one', 'two', 'three'] }, { signal: controller.signal });
        controller.abort();
        let error = null;
        try {
          await call;
        } catch (e) {
          error = { name: e.name, webslm: e instanceof window.webslm.WebslmError };
        }
        const after = await engine.embeddings.create({ input: 'still here' });
        let unknown = null;
        try {
          await window.webslm.createEngine('no-such-model', { worker });
        } catch (e) {
          unknown = { name: e.name, webslm: e instanceof window.webslm.WebslmError };
        }
        await engine.unload();
        return { error, dims: after.data[0].embedding.length, unknown };
      },
      { spec, worker },
    );
    assert.deepEqual(got.error, { name: 'AbortError', webslm: true });
    assert.equal(got.dims, 384);
    assert.deepEqual(got.unknown, { name: 'UnknownModel', webslm: true });
  });
}
