// LoRA adapters in the JS package (pkg/adapter.js, pkg/decoder.js, pkg/pipeline.js) on the stub
// model: spec validation and the per-request `adapters` field before anything reaches wasm, the
// download verified and cached like a model's files, the numeric ids the wasm side gets, unload,
// device-loss recovery re-attaching adapters, pipelines' `{ adapter }` for every task, and text
// models' adapters per call.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { adapterParams, resolveAdapter } from '../../pkg/adapter.js';
import { createEngine, pipeline, WebslmError } from '../../pkg/webslm.js';
import { fakeBytes, fakeModel, installCaches, installFetch, installNavigator, MiB } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
const isAdapterError = (pattern) => (e) => e instanceof WebslmError && e.name === 'AdapterError' && pattern.test(e.message);

const GGUF = fakeBytes(3000, 7);
const PEFT_WEIGHTS = fakeBytes(2000, 8);
const PEFT_CONFIG = new TextEncoder().encode('{"r": 8}');

let engine;
let calls;
let store;

before(async () => {
  store = installCaches();
  installNavigator();
  const m = fakeModel('text-generation', 1 * MiB);
  calls = installFetch({
    ...m.files,
    '/a/tone.gguf': GGUF,
    '/a/peft/adapter_model.safetensors': PEFT_WEIGHTS,
    '/a/peft/adapter_config.json': PEFT_CONFIG,
  });
  engine = await createEngine(m.spec, { worker: false });
});

test('resolveAdapter: a GGUF url, a PEFT pair, a files list; scale defaults to 1', () => {
  assert.deepEqual(resolveAdapter({ id: 'a', url: '/x/tone.gguf' }), {
    id: 'a',
    scale: 1,
    format: 'gguf',
    weights: { url: '/x/tone.gguf', sha256: undefined, size: undefined },
  });
  const peft = resolveAdapter({ id: 'p', url: '/x/adapter_model.safetensors', configUrl: '/x/adapter_config.json', scale: 0.5 });
  assert.equal(peft.format, 'peft');
  assert.equal(peft.scale, 0.5);
  assert.equal(peft.config.url, '/x/adapter_config.json');
  assert.equal(peft.taskConfig, undefined);
  const head = resolveAdapter({ id: 'h', url: '/x/adapter_model.safetensors', configUrl: '/c', taskConfigUrl: '/x/config.json' });
  assert.equal(head.taskConfig.url, '/x/config.json', "an encoder head's labels");
  const files = resolveAdapter({
    id: 'f',
    files: [
      { path: 'adapter_config.json', url: '/c' },
      { path: 'adapter_model.safetensors', url: '/w', sha256: 'a'.repeat(64) },
    ],
  });
  assert.deepEqual(
    [files.format, files.weights.url, files.weights.sha256, files.config.url, files.taskConfig],
    ['peft', '/w', 'a'.repeat(64), '/c', undefined],
  );
  const listedHead = resolveAdapter({
    id: 'f',
    files: [
      { path: 'adapter_config.json', url: '/c' },
      { path: 'adapter_model.safetensors', url: '/w' },
      { path: 'config.json', url: '/t' },
    ],
  });
  assert.equal(listedHead.taskConfig.url, '/t');
  assert.equal(resolveAdapter({ id: 'g', files: [{ path: 'lora/x.gguf', url: '/g' }] }).format, 'gguf');
  assert.equal(resolveAdapter({ id: 'h', url: '/blob/123', format: 'gguf' }).format, 'gguf');
});

test('resolveAdapter refuses a malformed spec with an AdapterError that says what is wrong', () => {
  const cases = [
    [null, /an object/],
    [{ url: '/x.gguf' }, /needs an id/],
    [{ id: '', url: '/x.gguf' }, /needs an id/],
    [{ id: 'a' }, /a URL/],
    [{ id: 'a', url: '/x.gguf', scale: Number.NaN }, /finite number/],
    [{ id: 'a', url: '/x.gguf', scale: '1' }, /finite number/],
    [{ id: 'a', url: '/x.gguf', sha256: 'ABC' }, /64 lower-case hex/],
    [{ id: 'a', url: '/x.gguf', size: -1 }, /positive integer/],
    [{ id: 'a', url: '/x.bin' }, /not a \.gguf.*configUrl/],
    [{ id: 'a', url: '/x.gguf', configUrl: '/c.json' }, /PEFT adapter|no configUrl/],
    [{ id: 'a', url: '/x.gguf', format: 'lora' }, /'gguf' or 'peft'/],
    [{ id: 'a', url: '/x.gguf', taskConfigUrl: '/t.json' }, /GGUF adapter has no taskConfigUrl/],
    [{ id: 'a', url: '/w', configUrl: '/c', taskConfigUrl: '' }, /task model's config\.json.*a URL/],
    [{ id: 'a', url: '/x.gguf', files: [] }, /url or files/],
    [{ id: 'a', files: 'x' }, /array/],
    [{ id: 'a', files: [{ path: 'adapter_model.safetensors', url: '/w' }] }, /adapter_config\.json and/],
    [{ id: 'a', files: [{ path: 'x.gguf', url: '' }] }, /a URL/],
  ];
  for (const [spec, pattern] of cases) {
    assert.throws(() => resolveAdapter(spec), isAdapterError(pattern), JSON.stringify(spec));
  }
  // A configUrl makes it PEFT unless the format says otherwise: then it is refused.
  assert.throws(
    () => resolveAdapter({ id: 'a', url: '/x.gguf', configUrl: '/c', format: 'gguf' }),
    isAdapterError(/no configUrl/),
  );
});

test("adapterParams maps ids to the engine's numeric ids, with each spec's scale by default", () => {
  const loaded = new Map([
    ['tone', { wasmId: 3, scale: 1 }],
    ['legal', { wasmId: 5, scale: 0.25 }],
    ['pending', { wasmId: -1, scale: 1 }],
  ]);
  assert.deepEqual(adapterParams(undefined, loaded), []);
  assert.deepEqual(adapterParams([], loaded), []);
  assert.deepEqual(adapterParams([{ id: 'legal' }, { id: 'tone', scale: 0 }], loaded), [
    { id: 5, scale: 0.25 },
    { id: 3, scale: 0 },
  ]);
  assert.throws(() => adapterParams({ id: 'tone' }, loaded), isAdapterError(/an array/));
  assert.throws(() => adapterParams(['tone'], loaded), isAdapterError(/string id/));
  assert.throws(() => adapterParams([{ id: 'nope' }], loaded), isAdapterError(/no adapter "nope".*loaded: tone, legal/));
  assert.throws(() => adapterParams([{ id: 'pending' }], loaded), isAdapterError(/no adapter "pending"/));
  assert.throws(() => adapterParams([{ id: 'tone' }, { id: 'tone' }], loaded), isAdapterError(/twice/));
  assert.throws(() => adapterParams([{ id: 'tone', scale: Infinity }], loaded), isAdapterError(/finite/));
});

test('loadAdapter fetches, verifies and caches; requests name adapters per call; unloadAdapter frees', async () => {
  const before = state.adaptersLoaded.length;
  const tone = await engine.loadAdapter({ id: 'tone', url: '/a/tone.gguf', sha256: sha(GGUF) });
  assert.deepEqual(tone, { id: 'tone', format: 'gguf', scale: 1, gpuBytes: GGUF.length });
  const peft = await engine.loadAdapter({
    id: 'peft',
    url: '/a/peft/adapter_model.safetensors',
    configUrl: '/a/peft/adapter_config.json',
    scale: 0.5,
  });
  assert.equal(peft.format, 'peft');
  assert.deepEqual(state.adaptersLoaded.slice(before), [
    { format: 'gguf', weights: GGUF.length, config: undefined },
    { format: 'peft', weights: PEFT_WEIGHTS.length, config: PEFT_CONFIG.length },
  ]);
  assert.ok(store.has('/a/tone.gguf'), 'the adapter is in the Cache API store');
  assert.deepEqual(
    (await engine.adapters()).map((a) => [a.id, a.scale]),
    [
      ['tone', 1],
      ['peft', 0.5],
    ],
  );
  await assert.rejects(engine.loadAdapter({ id: 'tone', url: '/a/tone.gguf' }), isAdapterError(/already loaded/));

  await engine.completions.create({ prompt: 'x', max_tokens: 1, adapters: [{ id: 'peft' }, { id: 'tone', scale: 2 }] });
  assert.deepEqual(state.lastParams.adapters, [
    { id: 1, scale: 0.5 },
    { id: 0, scale: 2 },
  ]);
  await engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
  assert.deepEqual(state.lastParams.adapters, [], 'a request without adapters runs the base model');

  const generated = state.generateCalls;
  await assert.rejects(
    engine.completions.create({ prompt: 'x', max_tokens: 1, adapters: [{ id: 'other' }] }),
    isAdapterError(/no adapter "other"/),
  );
  assert.equal(state.generateCalls, generated, 'nothing reached the model');

  await engine.unloadAdapter('peft');
  assert.deepEqual(state.adaptersUnloaded.slice(-1), [1]);
  assert.deepEqual(
    (await engine.adapters()).map((a) => a.id),
    ['tone'],
  );
  await assert.rejects(engine.unloadAdapter('peft'), isAdapterError(/no adapter "peft"/));
  await assert.rejects(
    engine.completions.create({ prompt: 'x', max_tokens: 1, adapters: [{ id: 'peft' }] }),
    isAdapterError(/no adapter "peft"/),
  );
});

test('a second load of a cached adapter fetches nothing; a wrong sha256 is an IntegrityError and leaves it out', async () => {
  await engine.unloadAdapter('tone');
  const seen = calls.length;
  await engine.loadAdapter({ id: 'tone', url: '/a/tone.gguf', sha256: sha(GGUF) });
  assert.deepEqual(calls.slice(seen), [], 'read back from the Cache API');

  store.delete('/a/tone.gguf');
  const loaded = state.adaptersLoaded.length;
  await assert.rejects(
    engine.loadAdapter({ id: 'bad', url: '/a/tone.gguf', sha256: '0'.repeat(64) }),
    (e) => e instanceof WebslmError && e.name === 'IntegrityError',
  );
  assert.equal(state.adaptersLoaded.length, loaded, 'nothing reached the model');
  assert.ok(!store.has('/a/tone.gguf'), 'the bad copy is not cached');
  assert.ok(!(await engine.adapters()).some((a) => a.id === 'bad'));
  // The id is free again after the failure.
  await engine.loadAdapter({ id: 'bad', url: '/a/tone.gguf' });
  await engine.unloadAdapter('bad');
});

test('after a device loss the adapters are attached again to the new engine and keep their ids', async () => {
  // The live adapter is 'tone' (wasm id 2 on the first engine, 0 on the next).
  await engine.loseDeviceForTest();
  const loaded = state.adaptersLoaded.length;
  const seen = calls.length;
  await engine.completions.create({ prompt: 'x', max_tokens: 1, adapters: [{ id: 'tone' }] });
  assert.equal(state.adaptersLoaded.length, loaded + 1, 'attached again');
  assert.deepEqual(state.lastParams.adapters, [{ id: 0, scale: 1 }]);
  assert.deepEqual(calls.slice(seen), [], 'from the cache');
});

test('pipelines: { adapter } runs on every call, decoder or encoder; a bad spec fails before any download', async () => {
  const m = fakeModel('text-generation', 1 * MiB);
  const seen = calls.length;
  await assert.rejects(pipeline('text-generation', m.spec, { worker: false, adapter: { id: 't' } }), isAdapterError(/a URL/));
  await assert.rejects(
    pipeline('feature-extraction', { ...m.spec, task: undefined }, { worker: false, adapter: { id: 't', url: '/a/x.bin' } }),
    isAdapterError(/configUrl/),
  );
  assert.deepEqual(calls.slice(seen), [], 'nothing fetched');
  const generate = await pipeline('text-generation', m.spec, {
    worker: false,
    adapter: [{ id: 't', url: '/a/tone.gguf', scale: 0.5 }],
  });
  await generate('x', { max_tokens: 1 });
  assert.deepEqual(state.lastParams.adapters, [{ id: 0, scale: 0.5 }]);
  await generate('x', { max_tokens: 1, adapters: [] });
  assert.deepEqual(state.lastParams.adapters, [], 'a call may ask for the base model');

  const peft = { id: 'p', url: '/a/peft/adapter_model.safetensors', configUrl: '/a/peft/adapter_config.json', scale: 2 };
  const classify = await pipeline('text-classification', { ...m.spec, task: undefined }, { worker: false, adapter: peft });
  const embed = await pipeline('feature-extraction', { ...m.spec, task: undefined }, { worker: false, adapter: peft });
  const before = state.textAdapters.length;
  await classify('x');
  await embed(['x', 'y']);
  assert.deepEqual(state.textAdapters.slice(before), [[{ id: 0, scale: 2 }], [{ id: 0, scale: 2 }]]);
});

test('text models: loadAdapter, per-call adapters on every task, unloadAdapter; unknown ids fail before the queue', async () => {
  const m = fakeModel('text-classification', 1 * MiB);
  const model = await createEngine({ ...m.spec, task: 'text-classification' }, { worker: false });
  const peft = { id: 'p', url: '/a/peft/adapter_model.safetensors', configUrl: '/a/peft/adapter_config.json' };
  const loaded = await model.loadAdapter(peft);
  assert.deepEqual(loaded, { id: 'p', format: 'peft', scale: 1, gpuBytes: PEFT_WEIGHTS.length });
  assert.deepEqual(await model.adapters(), [loaded]);
  const before = state.textAdapters.length;
  await model.classify('x', { adapters: [{ id: 'p' }] });
  await model.ner('x', 'simple', { adapters: [{ id: 'p', scale: 0.25 }] });
  await model.qa('q', 'c', 1, { adapters: [{ id: 'p' }] });
  await model.embeddings.create({ input: 'x', adapters: [{ id: 'p' }] });
  await model.classify('x');
  assert.deepEqual(state.textAdapters.slice(before), [
    [{ id: 0, scale: 1 }],
    [{ id: 0, scale: 0.25 }],
    [{ id: 0, scale: 1 }],
    [{ id: 0, scale: 1 }],
    [],
  ]);
  const calls = state.analysisCalls;
  await assert.rejects(model.classify('x', { adapters: [{ id: 'q' }] }), isAdapterError(/no adapter "q" is loaded/));
  assert.equal(state.analysisCalls, calls, 'nothing ran');
  await model.unloadAdapter('p');
  await assert.rejects(model.classify('x', { adapters: [{ id: 'p' }] }), isAdapterError(/no adapter "p"/));
  assert.deepEqual(await model.adapters(), []);
  await model.unload();
});
