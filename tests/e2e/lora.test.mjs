// LoRA adapters in the browser (issue 19), in headless Chromium on SwiftShader, through the
// worker: the tiny Llama 3 fixture with two committed adapters (a llama.cpp GGUF adapter,
// sha256-checked, and a PEFT folder), loaded once; per request the adapters chosen give the
// native CLI's greedy ids with the same `--lora` (on lavapipe), switching back and forth gives
// each adapter's own result again, and scale 0 gives the base model's.
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
