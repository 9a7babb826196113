// Structured output in headless Chromium (issue 18): chat.completions.create with a JSON
// schema in response_format on SmolLM2, in the page and in the Web Worker; the reply parses and
// follows the schema, the streamed reply equals the whole one, a Lark grammar and a regex
// constrain completions.create, and a bad schema rejects with InvalidConstraint before any token.
// The streamed reply also carries logprobs (one entry per token, their bytes spelling the reply)
// and ends with the usage chunk of stream_options.include_usage.
//
//   scripts/build-pkg.sh && node --test tests/e2e/structured.test.mjs
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openHarness } from './harness.mjs';

const GGUF = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const SCHEMA = {
  type: 'object',
  properties: {
    sender: { type: 'string', maxLength: 30 },
    order_number: { type: 'string', pattern: '^[0-9]{6}$' },
    mood: { enum: ['angry', 'calm'] },
  },
  required: ['sender', 'order_number', 'mood'],
  additionalProperties: false,
};
const EMAIL = 'Extract the sender, order number and mood as JSON.\n\nFrom: Ann Lee\nMy order 123456 arrived broken. I am furious!';

/** @type {Awaited<ReturnType<typeof openHarness>> | undefined} */
let harness;
before(async () => {
  harness = await openHarness();
});
after(async () => {
  await harness?.browser?.close();
  harness?.server?.close();
});

for (const worker of [false, true]) {
  const mode = worker ? 'worker' : 'page';
  test(`${mode}: a JSON schema in response_format constrains SmolLM2's reply`, { timeout: 600_000 }, async () => {
    const got = await harness.page.evaluate(
      async ({ url, worker, schema, email }) => {
        const engine = await window.webslm.createEngine({ url, task: 'text-generation' }, { worker, contextLength: 512 });
        const messages = [{ role: 'user', content: email }];
        const response_format = { type: 'json_schema', json_schema: { name: 'complaint', schema, strict: true } };
        const reply = await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 64, response_format });
        // The stream also asks for logprobs (issue 18 item 4) and OpenAI's usage chunk.
        let streamed = '';
        const entries = [];
        let usage = null;
        const stream_options = { include_usage: true };
        for await (const chunk of await engine.chat.completions.create({ messages, temperature: 0, max_tokens: 64, response_format, stream: true, logprobs: true, top_logprobs: 2, stream_options })) {
          if (chunk.usage && chunk.choices.length === 0) usage = chunk.usage;
          streamed += chunk.choices[0]?.delta.content ?? '';
          entries.push(...(chunk.choices[0]?.logprobs?.content ?? []));
        }
        const spelled = new TextDecoder().decode(Uint8Array.from(entries.flatMap((e) => e.bytes)));
        const logprobs = { count: entries.length, spelled, ok: entries.every((e) => e.logprob <= 0 && e.top_logprobs.length === 2 && e.top_logprobs[0].logprob >= e.logprob), usage };
        const regex = await engine.completions.create({ prompt: 'Phone: ', temperature: 0, max_tokens: 16, regex: '[0-9]{3}-[0-9]{4}' });
        const lark = await engine.completions.create({
          prompt: 'Is the sky blue? ',
          temperature: 0,
          max_tokens: 8,
          grammar: 'start: "yes" | "no"',
        });
        const bad = await engine.chat.completions
          .create({ messages, max_tokens: 4, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { $ref: '#/$defs/none' } } } } } })
          .then(() => 'no error', (e) => e.name);
        const two = await engine.completions
          .create({ prompt: 'x', max_tokens: 4, regex: 'a', grammar: 'start: "a"' })
          .then(() => 'no error', (e) => e.name);
        await engine.unload();
        return { text: reply.choices[0].message.content, finish: reply.choices[0].finish_reason, streamed, logprobs, usage: reply.usage, regex: regex.choices[0].text, lark: lark.choices[0].text, bad, two };
      },
      { url: GGUF, worker, schema: SCHEMA, email: EMAIL },
    );
    console.log(`${mode}: ${JSON.stringify(got)}`);
    assert.equal(got.finish, 'stop');
    const value = JSON.parse(got.text);
    assert.deepEqual(Object.keys(value).sort(), ['mood', 'order_number', 'sender']);
    assert.match(value.order_number, /^[0-9]{6}$/);
    assert.ok(['angry', 'calm'].includes(value.mood));
    assert.ok(typeof value.sender === 'string' && value.sender.length <= 30);
    assert.equal(got.streamed, got.text, 'the stream spells the same reply');
    // One logprobs entry per generated token, their bytes spelling the reply; the raw top is never
    // below the chosen token (the grammar may pick a less likely one).
    assert.equal(got.logprobs.count, got.usage.completion_tokens);
    assert.equal(got.logprobs.spelled, got.text);
    assert.ok(got.logprobs.ok, 'logprobs <= 0, 2 alternatives, the top one at least the chosen one');
    assert.deepEqual(got.logprobs.usage, got.usage, 'the usage chunk counts as the whole reply does');
    assert.match(got.regex, /^[0-9]{3}-[0-9]{4}$/);
    assert.ok(['yes', 'no'].includes(got.lark), got.lark);
    assert.equal(got.bad, 'InvalidConstraint');
    assert.equal(got.two, 'InvalidConstraint');
  });
}
