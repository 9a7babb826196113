// The `kernels` option in the browser (issue 16), in headless Chromium on SwiftShader: the GPU
// kernel path forced on a software adapter generates the native CLI's greedy tokens (forced there
// too), through the worker; checkSupport reports the path each option gets; a bad value is a
// GpuError before any download.
//
//   scripts/build-pkg.sh && cargo build --release && node --test tests/e2e/kernels.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openHarness, ROOT } from './harness.mjs';

const CLI = join(ROOT, 'target', 'release', 'webslm');
const GGUF = 'models/SmolLM2-135M-Instruct.Q4_1.gguf';
/** @type {Awaited<ReturnType<typeof openHarness>>} */
let h;
before(async () => (h = await openHarness()));
after(async () => Promise.all([h?.browser.close(), h?.server.close()]));

test('checkSupport says which kernel path SwiftShader gets, and why', async () => {
  const got = await h.page.evaluate(async (url) => {
    const auto = await window.webslm.checkSupport({ url });
    const gpu = await window.webslm.checkSupport({ url }, { kernels: 'gpu' });
    return { auto: auto.kernels, gpu: gpu.kernels, adapter: auto.adapter };
  }, `/${GGUF}`);
  assert.equal(got.adapter.software, true, 'SwiftShader is a software adapter');
  assert.equal(got.auto.path, 'software');
  assert.match(got.auto.reason, /software adapter/);
  assert.deepEqual(got.gpu, { path: 'gpu', reason: 'requested by the caller' });
});

test('an unknown kernels value is a GpuError before any download', async () => {
  const seen = h.server.ranges.length;
  const err = await h.page.evaluate(async (url) => {
    try {
      await window.webslm.createEngine({ url, task: 'text-generation' }, { kernels: 'fast' });
      return null;
    } catch (e) {
      return { name: e.name, message: e.message };
    }
  }, `/${GGUF}`);
  assert.equal(err?.name, 'GpuError');
  assert.match(err.message, /expected auto, software or gpu/);
  assert.equal(h.server.ranges.length, seen, 'nothing was fetched');
});

test("kernels: 'gpu' forced in SwiftShader gives the native CLI's greedy ids (GPU path there too)", { timeout: 600_000 }, async () => {
  const messages = [{ role: 'user', content: 'What is the capital of France?' }];
  const got = await h.page.evaluate(
    async ({ url, messages }) => {
      const engine = await window.webslm.createEngine({ url, task: 'text-generation' }, { contextLength: 128, kernels: 'gpu' });
      const reply = await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 8 });
      const out = { prompt: await engine.promptIds(messages), ids: reply.webslm.ids, kernels: engine.loadInfo.kernels };
      await engine.unload();
      return out;
    },
    { url: `/${GGUF}`, messages },
  );
  assert.deepEqual(got.kernels, { path: 'gpu', reason: 'requested by the caller' });
  const args = ['generate', '--model', join(ROOT, GGUF), '--kernels', 'gpu', '--ids', got.prompt.join(','),
    '--max-tokens', '8', '--temperature', '0', '--json'];
  const out = execFileSync(CLI, args, { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', WGPU_BACKEND: 'vulkan' } });
  const want = JSON.parse(out.toString().trim().split('\n').pop());
  assert.deepEqual(got.ids, want.ids.slice(0, got.ids.length));
  assert.equal(got.ids.length, Math.min(8, want.ids.length));
});
