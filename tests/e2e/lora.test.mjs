// LoRA adapters in the browser (issue 19), in headless Chromium on SwiftShader, through the
// worker: the tiny Llama 3 fixture with two committed adapters (a llama.cpp GGUF adapter,
// sha256-checked, and a PEFT folder), loaded once; per request the adapters chosen give the
// native CLI's greedy ids with the same `--lora` (on lavapipe), switching back and forth gives
// each adapter's own result again, and scale 0 gives the base model's. An encoder takes a PEFT
// adapter with its own classification head the same way: through `pipeline(task, model,
// { adapter })` its labels and scores are transformers' merged model's (the committed golden),
// and per call `adapters: []` gives the base model's head again.
//
//   scripts/build-pkg.sh && cargo build --release && node --test tests/e2e/lora.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openHarness, ROOT } from './harness.mjs';

const CLI = join(ROOT, 'target', 'release', 'webslm');
const BASE = 'tests/fixtures/decoders/tiny-llama3/model-f32.gguf';
const GGUF_ADAPTER = 'tests/fixtures/lora/llama3-a/adapter-f32.gguf';
const PEFT_ADAPTER = 'tests/fixtures/lora/llama3-b/peft';
const PROMPT = JSON.parse(readFileSync(join(ROOT, 'tests/fixtures/lora/llama3-a/golden.json'), 'utf8')).prompts[0].ids;
const MAX_TOKENS = 8;

/** @type {Awaited<ReturnType<typeof openHarness>>} */
let h;
before(async () => (h = await openHarness()));
after(async () => Promise.all([h?.browser.close(), h?.server.close()]));

/** The CLI's greedy ids after PROMPT with `--lora` arguments `loras`. */
function native(loras) {
  const args = ['generate', '--model', join(ROOT, BASE), '--ids', PROMPT.join(','), '--max-tokens', String(MAX_TOKENS),
    '--temperature', '0', '--json', ...loras.flatMap((l) => ['--lora', l])];
  const out = execFileSync(CLI, args, { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp', WGPU_BACKEND: 'vulkan' } });
  return JSON.parse(out.toString().trim().split('\n').pop()).ids;
}

test("per-request adapters give the native CLI's greedy ids; switching back and forth and scale 0 too", { timeout: 300_000 }, async () => {
  const sha256 = createHash('sha256').update(readFileSync(join(ROOT, GGUF_ADAPTER))).digest('hex');
  const runs = {
    base: undefined,
    gguf: [{ id: 'a' }],
    peft: [{ id: 'b' }],
    both: [{ id: 'a', scale: 0.5 }, { id: 'b' }],
    ggufAgain: [{ id: 'a' }],
    ggufOff: [{ id: 'a', scale: 0 }],
    baseAgain: [],
  };
  const got = await h.page.evaluate(
    async ({ base, gguf, peft, sha256, prompt, maxTokens, runs }) => {
      const engine = await window.webslm.createEngine({ url: base, task: 'text-generation' }, { contextLength: 64 });
      const loaded = [
        await engine.loadAdapter({ id: 'a', url: gguf, sha256 }),
        await engine.loadAdapter({ id: 'b', url: `${peft}/adapter_model.safetensors`, configUrl: `${peft}/adapter_config.json` }),
      ];
      /** @type {Record<string, number[]>} */
      const ids = {};
      for (const [name, adapters] of Object.entries(runs)) {
        const reply = await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0, adapters });
        ids[name] = reply.webslm.ids;
      }
      let unknown = null;
      try {
        await engine.completions.create({ prompt, max_tokens: 1, adapters: [{ id: 'c' }] });
      } catch (e) {
        unknown = { name: e.name, message: e.message };
      }
      await engine.unloadAdapter('a');
      const listed = await engine.adapters();
      await engine.unload();
      return { ids, loaded, listed, unknown };
    },
    { base: `/${BASE}`, gguf: `/${GGUF_ADAPTER}`, peft: `/${PEFT_ADAPTER}`, sha256, prompt: PROMPT, maxTokens: MAX_TOKENS, runs },
  );
  assert.deepEqual(
    got.loaded.map((a) => [a.id, a.format, a.scale]),
    [
      ['a', 'gguf', 1],
      ['b', 'peft', 1],
    ],
  );
  for (const a of got.loaded) assert.ok(a.gpuBytes > 0 && a.gpuBytes < 200_000, `${a.id}: ${a.gpuBytes} GPU bytes`);
  assert.deepEqual(got.listed.map((a) => a.id), ['b']);
  assert.equal(got.unknown?.name, 'AdapterError');

  const want = {
    base: native([]),
    gguf: native([join(ROOT, GGUF_ADAPTER)]),
    peft: native([join(ROOT, PEFT_ADAPTER)]),
    both: native([`${join(ROOT, GGUF_ADAPTER)}:0.5`, join(ROOT, PEFT_ADAPTER)]),
  };
  // The adapters change the output, so equal ids are not the base model's by accident.
  assert.notDeepEqual(want.gguf, want.base);
  assert.notDeepEqual(want.peft, want.base);
  assert.notDeepEqual(want.peft, want.gguf);
  for (const name of ['base', 'gguf', 'peft', 'both']) assert.deepEqual(got.ids[name], want[name], name);
  assert.deepEqual(got.ids.ggufAgain, want.gguf, 'the GGUF adapter again after switching away');
  assert.deepEqual(got.ids.ggufOff, want.base, 'scale 0 is the base model');
  assert.deepEqual(got.ids.baseAgain, want.base, 'no adapters is the base model');
});

const SST_BASE = 'tests/fixtures/encoders/tiny-bert-sst';
const SST_ADAPTER = 'tests/fixtures/lora/bert-sst-2way';

test("an encoder adapter with its own head: transformers' merged labels and scores, per call", { timeout: 300_000 }, async () => {
  const golden = JSON.parse(readFileSync(join(ROOT, SST_ADAPTER, 'golden.json'), 'utf8'));
  const baseLabels = Object.values(JSON.parse(readFileSync(join(ROOT, SST_BASE, 'config.json'), 'utf8')).id2label);
  const peft = `/${SST_ADAPTER}/peft`;
  const got = await h.page.evaluate(
    async ({ base, peft, texts }) => {
      const model = { url: `${base}/model.safetensors`, configUrl: `${base}/config.json`, tokenizerUrl: `${base}/tokenizer.json` };
      // Its head has other labels than the base model's: the task model's config.json names them.
      const adapter = {
        id: 'spam',
        url: `${peft}/adapter_model.safetensors`,
        configUrl: `${peft}/adapter_config.json`,
        taskConfigUrl: `${peft}/config.json`,
      };
      const classify = await window.webslm.pipeline('text-classification', model, { adapter });
      const piped = await classify(texts);
      const engine = await window.webslm.createEngine({ ...model, task: 'text-classification' });
      const loaded = await engine.loadAdapter(adapter);
      const on = await engine.classify(texts[0], { adapters: [{ id: 'spam' }] });
      const off = await engine.classify(texts[0], { adapters: [{ id: 'spam', scale: 0 }] });
      const none = await engine.classify(texts[0]);
      let unknown = null;
      try {
        await engine.classify(texts[0], { adapters: [{ id: 'other' }] });
      } catch (e) {
        unknown = e.name;
      }
      await engine.unloadAdapter('spam');
      const after = await engine.classify(texts[0]);
      await engine.unload();
      return { piped, loaded, on, off, none, after, unknown };
    },
    { base: `/${SST_BASE}`, peft, texts: golden.inputs },
  );
  assert.equal(got.piped.length, golden.inputs.length);
  golden.logits.forEach((logits, i) => {
    // The top label and its softmax score from the merged model's logits.
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const best = logits.indexOf(max);
    const want = exp[best] / exp.reduce((a, b) => a + b, 0);
    assert.equal(got.piped[i].label, golden.labels[best], `text ${i}`);
    assert.ok(Math.abs(got.piped[i].score - want) <= 1e-4, `text ${i}: ${got.piped[i].score} vs ${want}`);
  });
  assert.deepEqual([got.loaded.id, got.loaded.format], ['spam', 'peft']);
  assert.ok(got.loaded.gpuBytes > 0, `${got.loaded.gpuBytes} GPU bytes`);
  const labels = (/** @type {{ label: string }[][]} */ out) => out[0].map((l) => l.label).sort();
  assert.deepEqual(labels(got.on), [...golden.labels].sort(), "the adapter's head");
  assert.deepEqual(labels(got.off), [...baseLabels].sort(), "scale 0: the base model's head");
  assert.deepEqual(got.off, got.none, 'scale 0 is the base model');
  assert.deepEqual(got.after, got.none, 'unloaded: the base model');
  assert.equal(got.unknown, 'AdapterError');
});
