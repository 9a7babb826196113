// Model specs without `task` (issue 15, part 3), in headless Chromium: `pipeline(task, { url,
// configUrl, tokenizerUrl })` exactly as the README writes it runs the pipeline's task;
// `createEngine(spec)` reads the task from config.json's `architectures`; and a checkpoint that
// cannot serve the task is a typed error before any weight byte is requested (the server's
// request log says which files were fetched). QA through the pipeline equals the native CLI.
//
//   scripts/build-pkg.sh && cargo build --release && node --test tests/e2e/specs.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openHarness, ROOT } from './harness.mjs';

let server;
let browser;
let page;

const ENCODERS = 'tests/fixtures/encoders';
const DECODERS = 'tests/fixtures/decoders';
/** A spec as the README shows it: no task, no sha256. */
const spec = (dir, weights = 'model.safetensors') => ({
  url: `/${dir}/${weights}`, configUrl: `/${dir}/config.json`, tokenizerUrl: `/${dir}/tokenizer.json`,
});

/** The labels a classifier fixture's config.json names. */
const labelsOf = (dir) => Object.values(JSON.parse(readFileSync(join(ROOT, dir, 'config.json'), 'utf8')).id2label);

before(async () => {
  ({ server, browser, page } = await openHarness());
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Runs a pipeline in the page; returns its output or the error's { name, message }. */
async function runPipeline(task, model, input, options = {}) {
  return page.evaluate(async ({ task, model, input, options }) => {
    try {
      const run = await window.webslm.pipeline(task, model);
      return { out: await run(input, options) };
    } catch (e) {
      return { error: { name: e.name, message: e.message } };
    }
  }, { task, model, input, options });
}

test('the four encoder pipelines run a spec without task', async () => {
  const text = 'Ada Lovelace lived in London and loved it.';
  const features = await runPipeline('feature-extraction', spec('models/all-minilm-l6-v2'), text);
  assert.equal(features.error, undefined, JSON.stringify(features.error));
  const v = features.out[0];
  assert.equal(v.length, 384);
  assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4, 'an L2-normalised sentence embedding');

  const sst = await runPipeline('text-classification', spec(`${ENCODERS}/tiny-bert-sst`), text);
  assert.equal(sst.error, undefined, JSON.stringify(sst.error));
  assert.ok(labelsOf(`${ENCODERS}/tiny-bert-sst`).includes(sst.out[0].label), JSON.stringify(sst.out));

  const ner = await runPipeline('token-classification', spec(`${ENCODERS}/tiny-bert-ner`), text);
  assert.equal(ner.error, undefined, JSON.stringify(ner.error));
  assert.ok(Array.isArray(ner.out), JSON.stringify(ner.out));

  const qa = await runPipeline('question-answering', spec(`${ENCODERS}/tiny-mobilebert-qa`), { question: 'Where did Ada live?', context: text });
  assert.equal(qa.error, undefined, JSON.stringify(qa.error));
  assert.equal(typeof qa.out.answer, 'string');
});

test('question answering in the browser equals the native CLI at top_k 1 and 3', async () => {
  const dir = `${ENCODERS}/tiny-mobilebert-qa`;
  const question = 'Who founded Microsoft?';
  const context = 'Microsoft was founded by Bill Gates and Paul Allen on April 4, 1975, in Albuquerque, New Mexico.';
  const cli = (k) => {
    const out = execFileSync(join(ROOT, 'target/release/webslm'),
      ['qa', '--model', join(ROOT, dir), '--question', question, '--context', context, '--top-k', String(k)],
      { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', WGPU_BACKEND: 'vulkan' } });
    const json = JSON.parse(out.toString().trim().split('\n').pop());
    return json.answers ?? [json];
  };
  const one = await runPipeline('question-answering', spec(dir), { question, context });
  const three = await runPipeline('question-answering', spec(dir), { question, context }, { top_k: 3 });
  for (const [got, want] of [[[one.out], cli(1)], [three.out, cli(3)]]) {
    assert.equal(got.length, want.length);
    got.forEach((a, i) => {
      assert.deepEqual([a.answer, a.start, a.end], [want[i].answer, want[i].start, want[i].end]);
      assert.ok(Math.abs(a.score - want[i].score) < 1e-4, `${a.score} vs ${want[i].score}`);
    });
  }
  assert.deepEqual(three.out[0], one.out, 'the best answer does not depend on top_k');
});

test('createEngine without task reads config.json: a classifier gets the classify API', async () => {
  const got = await page.evaluate(async (model) => {
    const engine = await window.webslm.createEngine(model, { worker: false });
    const labels = await engine.classify('Great!');
    await engine.unload();
    return { hasChat: 'chat' in engine, label: labels[0][0].label };
  }, spec(`${ENCODERS}/tiny-distilbert-sst`));
  assert.equal(got.hasChat, false);
  assert.ok(labelsOf(`${ENCODERS}/tiny-distilbert-sst`).includes(got.label), got.label);
});

test('a checkpoint that cannot serve the task fails before its weights are requested', async () => {
  const cases = [
    // A decoder folder given to an encoder pipeline: config.json is read, the weights are not.
    ['feature-extraction', spec(`${DECODERS}/tiny-llama3`), `/${DECODERS}/tiny-llama3/model.safetensors`],
    // A .gguf is a decoder: nothing at all is fetched.
    ['question-answering', spec(`${DECODERS}/tiny-qwen2`, 'model-q8_0.gguf'), `/${DECODERS}/tiny-qwen2/model-q8_0.gguf`],
    // A classifier's config given to text generation.
    ['text-generation', spec(`${ENCODERS}/tiny-bert-ner`), `/${ENCODERS}/tiny-bert-ner/model.safetensors`],
    // A classifier is not a question-answering model.
    ['question-answering', spec(`${ENCODERS}/tiny-distilbert-sst`), `/${ENCODERS}/tiny-distilbert-sst/model.safetensors`],
  ];
  for (const [task, model, weights] of cases) {
    const before = server.requests.length;
    const got = await runPipeline(task, model, 'x');
    assert.equal(got.error?.name, 'UnsupportedModel', `${task} on ${model.url}: ${JSON.stringify(got)}`);
    assert.match(got.error.message, new RegExp(`cannot run ${task}`));
    const fetched = server.requests.slice(before);
    assert.ok(!fetched.includes(weights), `${weights} was requested: ${fetched.join(', ')}`);
  }
  // The same with createEngine and the spec's own task, and for a catalogue id.
  const own = await page.evaluate(async (model) => {
    try {
      await window.webslm.createEngine({ ...model, task: 'text-generation' });
      return null;
    } catch (e) {
      return e.name;
    }
  }, spec(`${ENCODERS}/tiny-bert-sst`));
  assert.equal(own, 'UnsupportedModel');
  const catalogue = await runPipeline('text-generation', 'all-minilm-l6-v2', 'x');
  assert.equal(catalogue.error?.name, 'UnsupportedModel');
  const unknown = await runPipeline('summarization', spec(`${ENCODERS}/tiny-bert-sst`), 'x');
  assert.equal(unknown.error?.name, 'UnknownTask');
});
