// Device loss, recovered, in headless Chromium (SwiftShader WebGPU): the GPU device is destroyed
// in the middle of a streamed chat reply. That call must reject with a WebslmError of kind
// DeviceLost; the next call (the same conversation) must work, on a new device whose weights came
// from the Cache API with no network request, and give the reply the healthy engine gave.
//
//   scripts/build-pkg.sh && node --test tests/e2e/device_loss.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openHarness, ROOT } from './harness.mjs';

const GGUF = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';

let server;
let browser;
let page;

before(async () => {
  assert.ok(existsSync(join(ROOT, GGUF.slice(1))), `${GGUF} is missing (scripts/fetch-models.sh)`);
  ({ server, browser, page } = await openHarness({ echo: ['error', 'warning'] }));
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** The same checks on the page's thread and in the default Web Worker. */
for (const worker of [false, true]) {
  test(`a device lost mid-reply rejects that call with DeviceLost; the next call recovers from the cache (worker: ${worker})`, { timeout: 600_000 }, async () => {
    const request = { temperature: 0, max_tokens: 12 };
    // Load, and the reference replies of a healthy engine: turn 1, then turn 2 prefilled in full,
    // as it will be on a new device, whose KV cache starts empty.
    const reference = await page.evaluate(async ({ url, request, worker }) => {
      const engine = await window.webslm.createEngine({ url, task: 'text-generation' }, { contextLength: 256, worker });
      window.lossEngine = engine;
      const turn1 = [{ role: 'user', content: 'What is the capital of France?' }];
      const first = await engine.chat.completions.create({ messages: turn1, ...request });
      const turn2 = [...turn1, first.choices[0].message, { role: 'user', content: 'And of Italy?' }];
      window.turn2 = turn2;
      await engine.resetCache();
      const second = await engine.chat.completions.create({ messages: turn2, ...request });
      return { ids: second.webslm.ids, text: second.choices[0].message.content, finish: second.choices[0].finish_reason };
    }, { url: GGUF, request, worker });
    assert.ok(reference.ids.length > 1, 'the reference reply has tokens');

    // The loss: the device is destroyed after the streamed reply's first piece.
    const lost = await page.evaluate(async (request) => {
      const engine = window.lossEngine;
      let pieces = 0;
      try {
        for await (const chunk of await engine.chat.completions.create({ messages: window.turn2, ...request, stream: true })) {
          if (chunk.choices[0].delta?.content && pieces++ === 0) await engine.loseDeviceForTest();
        }
        return { pieces, error: null };
      } catch (e) {
        return { pieces, error: { name: e.name, message: e.message, webslm: e instanceof window.webslm.WebslmError } };
      }
    }, request);
    console.log(`device loss (worker: ${worker}): ${JSON.stringify(lost)}`);
    assert.ok(lost.error, `the call whose device was destroyed did not fail (${lost.pieces} pieces)`);
    assert.equal(lost.error.name, 'DeviceLost', lost.error.message);
    assert.ok(lost.error.webslm, 'the rejection is a WebslmError');
    assert.ok(lost.pieces < reference.ids.length, `the reply went on after the loss: ${lost.pieces} pieces`);

    // The next call: the same conversation, on a new device, weights from the Cache API.
    const requestsBefore = server.requests.length;
    const after = await page.evaluate(async (request) => {
      const engine = window.lossEngine;
      const before = await engine.deviceRecoveries();
      const reply = await engine.chat.completions.create({ messages: window.turn2, ...request });
      const out = {
        before, recoveries: await engine.deviceRecoveries(), ids: reply.webslm.ids,
        text: reply.choices[0].message.content, finish: reply.choices[0].finish_reason,
      };
      await engine.unload();
      return out;
    }, request);
    const fetched = server.requests.slice(requestsBefore);
    console.log(`after recovery (worker: ${worker}): ${JSON.stringify(after)}; requests ${JSON.stringify(fetched)}`);
    assert.equal(after.before, 0);
    assert.equal(after.recoveries, 1, 'the model was reopened once');
    assert.deepEqual(fetched.filter((p) => p.startsWith('/models/')), [], 'recovery fetched model files');
    assert.deepEqual(after.ids, reference.ids, 'the reply after recovery differs from the healthy engine\'s');
    assert.equal(after.text, reference.text);
    assert.equal(after.finish, reference.finish);
  });
}
