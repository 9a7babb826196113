// The rest of the OpenAI request (pkg/decoder.js): logit_bias, frequency/presence penalties,
// logprobs/top_logprobs, n, seed and stream_options reach the wasm side in its shape, bad values
// are InvalidRequest errors before any generation, and the replies carry OpenAI's shapes: n
// choices (choice i with seed + i), logprobs per choice and per chunk, usage counting the
// prompt once, and the usage-only last chunk of a stream with include_usage.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createEngine, WebslmError } from '../../pkg/webslm.js';
import { loadStubEngines } from './fakes.mjs';
import { state } from './stubs/wasm.mjs';

let decoder;

before(async () => {
  ({ decoder } = await loadStubEngines(createEngine));
});

const invalid = (e) => e instanceof WebslmError && e.name === 'InvalidRequest';

test('penalties, logit_bias and logprobs reach the wasm side in its shape', async () => {
  await decoder.chat.completions.create({
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 1,
    frequency_penalty: 0.5,
    presence_penalty: -2,
    logit_bias: { 42: -100, 7: 3.5 },
    logprobs: true,
    top_logprobs: 3,
    seed: 9,
  });
  const p = state.lastParams;
  assert.deepEqual(
    [p.frequency_penalty, p.presence_penalty, p.logit_bias, p.logprobs, p.top_logprobs, p.seed],
    [
      0.5,
      -2,
      [
        [7, 3.5],
        [42, -100],
      ],
      true,
      3,
      9,
    ],
  );
  // The legacy completions endpoint's logprobs count means top_logprobs.
  await decoder.completions.create({ prompt: 'x', max_tokens: 1, logprobs: 2 });
  assert.deepEqual([state.lastParams.logprobs, state.lastParams.top_logprobs], [true, 2]);
  await decoder.completions.create({ prompt: 'x', max_tokens: 1 });
  assert.deepEqual([state.lastParams.logprobs, state.lastParams.top_logprobs, state.lastParams.logit_bias], [false, 0, []]);
});

test('out-of-range options are InvalidRequest errors before any generation', async () => {
  const bad = [
    { frequency_penalty: 2.5 },
    { presence_penalty: -2.01 },
    { presence_penalty: 'high' },
    { logit_bias: { 5: 101 } },
    { logit_bias: { abc: 1 } },
    { logit_bias: [1, 2] },
    { top_logprobs: 21, logprobs: true },
    { top_logprobs: 2 },
    { logprobs: 'yes' },
    { n: 0 },
    { n: 1.5 },
    { n: 129 },
    { seed: -1 },
    { seed: 1.5 },
    { stream: true, stream_options: { include_usage: 'yes' } },
  ];
  const calls = state.generateCalls;
  for (const opts of bad) {
    await assert.rejects(
      decoder.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], max_tokens: 1, ...opts }),
      invalid,
      JSON.stringify(opts),
    );
  }
  assert.equal(state.generateCalls, calls, 'nothing was generated');
});

test('n choices with seeds seed + i, logprobs per choice, usage counting the prompt once', async () => {
  state.seeds = [];
  const out = await decoder.completions.create({ prompt: 'abcd', max_tokens: 3, n: 2, seed: 40, logprobs: true });
  assert.deepEqual(state.seeds, [40, 41]);
  assert.deepEqual(
    out.choices.map((c) => [c.index, c.text, c.finish_reason]),
    [
      [0, 't0 t1 t2 ', 'length'],
      [1, 't0 t1 t2 ', 'length'],
    ],
  );
  assert.deepEqual(
    out.choices[1].logprobs.content.map((e) => [e.token, e.logprob]),
    [
      ['t0 ', -0],
      ['t1 ', -1],
      ['t2 ', -2],
    ],
  );
  assert.deepEqual(out.usage, { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 });
  const plain = await decoder.completions.create({ prompt: 'abcd', max_tokens: 1 });
  assert.equal(plain.choices[0].logprobs, null, 'no logprobs unless asked for');
});

test('a stream of n choices with logprobs per chunk ends with the usage chunk when asked', async () => {
  const stream = await decoder.chat.completions.create({
    messages: [{ role: 'user', content: 'hey' }],
    max_tokens: 2,
    n: 2,
    seed: 1,
    logprobs: true,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const content = chunks.filter((c) => c.choices[0]?.delta?.content);
  assert.deepEqual(
    content.map((c) => [c.choices[0].index, c.choices[0].delta.content, c.choices[0].logprobs.content[0].token]),
    [
      [0, 't0 ', 't0 '],
      [0, 't1 ', 't1 '],
      [1, 't0 ', 't0 '],
      [1, 't1 ', 't1 '],
    ],
  );
  assert.equal(content[0].choices[0].delta.role, 'assistant');
  assert.equal(content[2].choices[0].delta.role, 'assistant', 'each choice starts with its role');
  const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
  assert.deepEqual(
    finishes.map((c) => [c.choices[0].index, c.choices[0].finish_reason]),
    [
      [0, 'length'],
      [1, 'length'],
    ],
  );
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  // Without include_usage, a single choice's finish chunk still carries the usage, as before n.
  const one = await decoder.chat.completions.create({
    messages: [{ role: 'user', content: 'hey' }],
    max_tokens: 1,
    stream: true,
  });
  const all = [];
  for await (const c of one) all.push(c);
  assert.equal(all.at(-1).choices[0].finish_reason, 'length');
  assert.equal(all.at(-1).usage.completion_tokens, 1);
});

test("completions with the legacy logprobs count get the legacy shape, streamed too; logprobs: true keeps chat's", async () => {
  const out = await decoder.completions.create({ prompt: 'x', max_tokens: 3, logprobs: 2 });
  assert.deepEqual(out.choices[0].logprobs, {
    tokens: ['t0 ', 't1 ', 't2 '],
    token_logprobs: [-0, -1, -2],
    top_logprobs: [{}, {}, {}],
    text_offset: [0, 3, 6],
  });
  const stream = await decoder.completions.create({ prompt: 'x', max_tokens: 3, logprobs: 0, stream: true });
  const pieces = [];
  for await (const c of stream) if (c.choices[0]?.logprobs) pieces.push(c.choices[0].logprobs);
  assert.deepEqual(
    pieces.map((l) => [l.tokens, l.text_offset]),
    [
      [['t0 '], [0]],
      [['t1 '], [3]],
      [['t2 '], [6]],
    ],
    'offsets continue over the chunks',
  );
  const chat = await decoder.completions.create({ prompt: 'x', max_tokens: 1, logprobs: true });
  assert.equal(chat.choices[0].logprobs.content[0].token, 't0 ');
});
