// The package's contracts with the stub model: sampling defaults reach the wasm side, errors
// from wasm are WebslmErrors, and the method list in messages.js (the worker protocol) is what
// the in-page engines have.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { METHODS, methodAt } from '../../pkg/messages.js';
import { createEngine, SAMPLING_DEFAULTS, WebslmError } from '../../pkg/webslm.js';
import { loadStubEngines } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

let decoder;
let encoder;

before(async () => {
  ({ decoder, encoder } = await loadStubEngines(createEngine));
});

test('a request without sampling options gets the defaults; min_p and repeat_penalty can be set', async () => {
  await decoder.completions.create({ prompt: 'x', max_tokens: 1 });
  const p = state.lastParams;
  assert.deepEqual(
    { temperature: p.temperature, top_k: p.top_k, top_p: p.top_p, min_p: p.min_p, repeat_penalty: p.repeat_penalty },
    { ...SAMPLING_DEFAULTS },
  );
  await decoder.completions.create({ prompt: 'x', max_tokens: 1, min_p: 0, repeat_penalty: 1.1, temperature: 0 });
  assert.equal(state.lastParams.min_p, 0);
  assert.equal(state.lastParams.repeat_penalty, 1.1);
  assert.equal(state.lastParams.temperature, 0);
});

test('an error thrown by the wasm side is a WebslmError that keeps its kind', async () => {
  state.tokenizeThrows = Object.assign(new Error('the prompt has 5000 tokens; the context holds 2048'), {
    name: 'ContextOverflow',
  });
  await assert.rejects(
    decoder.tokenize('x'),
    (e) => e instanceof WebslmError && e.name === 'ContextOverflow' && /5000/.test(e.message),
  );
});

test('a panic (or any unexpected error) from the wasm side is an InternalError', async () => {
  state.tokenizeThrows = new WebAssembly.RuntimeError('unreachable');
  await assert.rejects(
    decoder.tokenize('x'),
    (e) => e instanceof WebslmError && e.name === 'InternalError' && /RuntimeError: unreachable/.test(e.message),
  );
});

test('a bad model spec is a typed error, not a TypeError', async () => {
  await assert.rejects(createEngine({}, { worker: false }), { name: 'UnknownModel' });
  await assert.rejects(createEngine('no-such-model', { worker: false }), { name: 'UnknownModel' });
});

test("the worker method list is exactly the in-page engines' methods", () => {
  const listed = (engine, kind) => {
    for (const path of Object.keys(METHODS[kind])) assert.equal(typeof methodAt(engine, path), 'function', path);
  };
  listed(decoder, 'decoder');
  listed(encoder, 'textModel');
  // Every function an engine has is listed (interrupt is a message of its own).
  const functions = (obj, prefix = '') =>
    Object.entries(obj).flatMap(([k, v]) =>
      typeof v === 'function'
        ? [prefix + k]
        : v && typeof v === 'object' && k !== 'loadInfo'
          ? functions(v, `${prefix}${k}.`)
          : [],
    );
  assert.deepEqual(
    functions(decoder)
      .filter((p) => p !== 'interrupt')
      .sort(),
    Object.keys(METHODS.decoder).sort(),
  );
  assert.deepEqual(functions(encoder).sort(), Object.keys(METHODS.textModel).sort());
});
