// Device loss in the decoder engine (pkg/decoder.js through pkg/recovery.js), on the page's thread
// with the stub model: the call running when the device is destroyed rejects with DeviceLost, the
// next call runs on a reopened engine whose weights come from the cache, a loss while idle is
// recovered before the next call instead of failing it, and a signal still aborts afterwards.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createEngine, WebslmError } from '../../pkg/webslm.js';
import { fakeModel, installCaches, installFetch, installNavigator, MiB } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

let engine;
let calls;
const request = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 };

before(async () => {
  installCaches();
  installNavigator();
  const m = fakeModel('text-generation', 1 * MiB);
  calls = installFetch(m.files);
  engine = await createEngine(m.spec, { worker: false });
});

test('a device lost mid-generation rejects that call with DeviceLost; the next call reopens from the cache', async () => {
  state.tokenMs = 2;
  const built = state.decodersBuilt;
  let pieces = 0;
  await assert.rejects(
    (async () => {
      const stream = await engine.chat.completions.create({ ...request, max_tokens: 10_000, stream: true });
      for await (const chunk of stream) {
        if (chunk.choices[0].delta?.content && pieces++ === 0) await engine.loseDeviceForTest();
      }
    })(),
    (e) => e instanceof WebslmError && e.name === 'DeviceLost',
  );
  assert.ok(pieces < 100, `the reply went on after the loss: ${pieces} pieces`);
  assert.equal(await engine.deviceRecoveries(), 0);

  const fetchedBefore = calls.length;
  const out = await engine.chat.completions.create(request);
  assert.equal(out.choices[0].finish_reason, 'length');
  assert.equal(out.usage.completion_tokens, 5);
  assert.equal(await engine.deviceRecoveries(), 1);
  assert.equal(state.decodersBuilt, built + 1, 'one new decoder');
  assert.deepEqual(calls.slice(fetchedBefore), [], 'the reopening fetched nothing');
});

test('a loss while idle is recovered before the next call, which succeeds', async () => {
  const recoveries = await engine.deviceRecoveries();
  await engine.loseDeviceForTest();
  assert.deepEqual(await engine.tokenize('ab'), [97, 98]);
  assert.equal(await engine.deviceRecoveries(), recoveries + 1);
});

test('after a recovery a signal still stops a generation with finish_reason abort', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 40);
  const out = await engine.chat.completions.create({ ...request, max_tokens: 10_000 }, { signal: controller.signal });
  assert.equal(out.choices[0].finish_reason, 'abort');
  await assert.rejects(engine.tokenize('x', { signal: AbortSignal.abort() }), { name: 'AbortError' });
  await engine.unload();
});
