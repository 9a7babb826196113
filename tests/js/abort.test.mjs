// Abort in the engines (issue 14, fault 3), on the page's thread with the stub model: a
// generation stops and reports finish_reason 'abort'; an analysis call rejects with AbortError
// at once, and a call queued behind it never runs.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { checkSupport, createEngine, deleteModelFromCache, hasModelInCache, WebslmError } from '../../pkg/webslm.js';
import { fakeModel, installFetch, loadStubEngines, MiB } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

let decoder;
let encoder;

before(async () => {
  ({ decoder, encoder } = await loadStubEngines(createEngine));
});

const chat = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10_000 };

test('an aborted generation resolves with finish_reason abort and the text so far', async () => {
  state.tokenMs = 2;
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 40);
  const started = Date.now();
  const out = await decoder.chat.completions.create(chat, { signal: controller.signal });
  assert.ok(Date.now() - started < 2000, 'stopped well before 10000 tokens');
  assert.equal(out.choices[0].finish_reason, 'abort');
  assert.ok(out.usage.completion_tokens > 0 && out.usage.completion_tokens < 10_000);
  assert.equal(out.choices[0].message.content.split(' ').length - 1, out.usage.completion_tokens);
});

test('an aborted stream ends with a last chunk whose finish_reason is abort', async () => {
  const controller = new AbortController();
  const stream = await decoder.completions.create(
    { prompt: 'x', max_tokens: 10_000, stream: true },
    { signal: controller.signal },
  );
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunks.length === 3) controller.abort();
  }
  const last = chunks[chunks.length - 1];
  assert.equal(last.choices[0].finish_reason, 'abort');
  assert.ok(chunks.length < 100);
});

test('a generation aborted before it starts does not run', async () => {
  const calls = state.generateCalls;
  const out = await decoder.chat.completions.create(chat, { signal: AbortSignal.abort() });
  assert.equal(out.choices[0].finish_reason, 'abort');
  assert.equal(out.choices[0].message.content, '');
  assert.equal(state.generateCalls, calls);
});

test('an aborted analysis call rejects with AbortError at once; one queued behind it is skipped', async () => {
  state.analysisMs = 300;
  const calls = state.analysisCalls;
  const first = new AbortController();
  const second = new AbortController();
  const running = encoder.classify('slow', { signal: first.signal });
  const queued = encoder.embeddings.create({ input: 'queued' }, { signal: second.signal });
  const started = Date.now();
  setTimeout(() => {
    first.abort();
    second.abort();
  }, 20);
  await assert.rejects(running, (e) => e instanceof WebslmError && e.name === 'AbortError');
  await assert.rejects(queued, (e) => e instanceof WebslmError && e.name === 'AbortError');
  assert.ok(Date.now() - started < 250, 'rejected before the 300 ms call finished');
  await encoder.unload(); // waits for the running call
  assert.equal(state.analysisCalls, calls + 1, 'the queued call never reached the model');
  state.analysisMs = 0;
});

test('every analysis call takes a signal', async () => {
  const e = fakeModel('token-classification', 1 * MiB);
  installFetch(e.files);
  const model = await createEngine(e.spec, { worker: false });
  const aborted = { signal: AbortSignal.abort() };
  await assert.rejects(model.ner('x', 'first', aborted), { name: 'AbortError' });
  await assert.rejects(model.qa('q', 'c', 1, aborted), { name: 'AbortError' });
  await assert.rejects(model.classify('x', aborted), { name: 'AbortError' });
  await assert.rejects(model.embeddings.create({ input: 'x' }, aborted), { name: 'AbortError' });
  assert.deepEqual(await model.classify('x'), [[{ label: 'POSITIVE', score: 1 }]]);
});

test('checkSupport and the cache calls take a signal too', async () => {
  const e = fakeModel('feature-extraction', 1 * MiB);
  const calls = installFetch(e.files);
  const aborted = { signal: AbortSignal.abort() };
  await assert.rejects(checkSupport(e.spec, aborted), (err) => err instanceof WebslmError && err.name === 'AbortError');
  assert.deepEqual(calls, [], 'an aborted checkSupport reads no header');
  assert.equal((await checkSupport(e.spec)).ok, true);
  await assert.rejects(hasModelInCache(e.spec, aborted), { name: 'AbortError' });
  await assert.rejects(deleteModelFromCache(e.spec, aborted), { name: 'AbortError' });
});
