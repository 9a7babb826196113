// Lists that live in two places must agree: the error kinds (pkg/errors.js, pkg/webslm.d.ts,
// README.md, and the kinds src/web.rs raises) and the sampling defaults (pkg/decoder.js against
// src/sampling.rs and src/web.rs).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAX_TOKENS_DEFAULT, SAMPLING_DEFAULTS } from '../../pkg/decoder.js';
import { ERROR_KINDS, WASM_ERROR_KINDS } from '../../pkg/errors.js';

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const sorted = (xs) => [...new Set(xs)].sort();

test('src/web.rs raises exactly the wasm-side kinds of errors.js', () => {
  const web = read('src/web.rs');
  // js_error("Kind", ...) and the `=> "Kind"` arms of gpu_error / model_error.
  const kinds = [...web.matchAll(/js_error\("(\w+)"|=> "([A-Z]\w+)"/g)].map((m) => m[1] ?? m[2]);
  assert.ok(kinds.length > 0, 'no kinds found in src/web.rs: update this parser');
  assert.deepEqual(sorted(kinds), sorted(WASM_ERROR_KINDS));
});

test('webslm.d.ts ErrorKind lists the kinds of errors.js', () => {
  const dts = read('pkg/webslm.d.ts');
  const union = /export type ErrorKind =([^;]+);/.exec(dts);
  assert.ok(union, 'webslm.d.ts has no ErrorKind type');
  const kinds = [...union[1].matchAll(/'(\w+)'/g)].map((m) => m[1]);
  assert.deepEqual(sorted(kinds), sorted(ERROR_KINDS));
});

test('the README error table lists the kinds of errors.js', () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('### Errors'));
  const kinds = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(sorted(kinds), sorted(ERROR_KINDS));
});

test('the JS sampling defaults are the Rust defaults', () => {
  const rust = read('src/sampling.rs');
  const body = /impl Default for SamplingParams \{[\s\S]*?SamplingParams \{([\s\S]*?)\}/.exec(rust);
  assert.ok(body, 'no Default for SamplingParams in src/sampling.rs');
  const fields = Object.fromEntries([...body[1].matchAll(/(\w+): ([\d.]+),/g)].map((m) => [m[1], Number(m[2])]));
  for (const [name, value] of Object.entries(SAMPLING_DEFAULTS)) {
    assert.equal(value, fields[name], `${name}: JS ${value}, Rust ${fields[name]}`);
  }
  const maxTokens = /max_tokens: o\.max_tokens\.unwrap_or\((\d+)\)/.exec(read('src/web.rs'));
  assert.ok(maxTokens, 'no max_tokens default in src/web.rs');
  assert.equal(MAX_TOKENS_DEFAULT, Number(maxTokens[1]));
});

test('webslm.js exports every value webslm.d.ts declares, and nothing else', async () => {
  const dts = read('pkg/webslm.d.ts');
  const declared = [...dts.matchAll(/^export (?:function|const|class) (\w+)/gm)].map((m) => m[1]);
  const api = await import('../../pkg/webslm.js');
  assert.deepEqual(sorted(Object.keys(api)), sorted(declared));
});

test('the JS vocab.txt size limit is the Rust one', async () => {
  const { MAX_VOCAB_TXT_BYTES } = await import('../../pkg/load.js');
  const rust = /pub const MAX_VOCAB_TXT_BYTES: usize = (\d+) << (\d+);/.exec(read('src/tokenizer/wordpiece.rs'));
  assert.ok(rust, 'no MAX_VOCAB_TXT_BYTES in src/tokenizer/wordpiece.rs');
  assert.equal(MAX_VOCAB_TXT_BYTES, Number(rust[1]) * 2 ** Number(rust[2]));
});
