// Catalogue ids in the JS package (schema 2, src/catalogue/models.json): the default download of
// a decoder is its one GGUF file (tokenizer and template inside), a variant is picked by id and an
// unknown one is an UnknownModel error listing the known ones, hubUrl moves every catalogue URL
// to a mirror keeping its size and sha256, and checkSupport's sizes cover every variant.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogueSizes } from '../../pkg/models.js';
import { catalogue, resolveModel, WebslmError } from '../../pkg/webslm.js';

const entry = (id) => catalogue.models.find((m) => m.id === id);

test('every decoder resolves to its GGUF file alone, with the catalogue size and sha256', () => {
  for (const m of catalogue.models.filter((m) => m.task === 'text-generation')) {
    const r = resolveModel(m.id);
    const gguf = m.files.find((f) => f.path.endsWith('.gguf'));
    assert.equal(r.format, 'gguf', m.id);
    assert.equal(r.variant, m.variant);
    assert.deepEqual(r.weights, { url: gguf.url, size: gguf.size, sha256: gguf.sha256 }, m.id);
    assert.equal(r.config ?? r.tokenizer ?? r.tokenizerConfig, undefined, `${m.id}: a GGUF needs no other file`);
  }
});

test('an encoder resolves to its safetensors folder; hubUrl moves every URL to the mirror', () => {
  const m = entry('all-minilm-l6-v2');
  const file = (p) => m.files.find((f) => f.path === p);
  const r = resolveModel('all-minilm-l6-v2', { hubUrl: 'http://127.0.0.1:8080/hub/' });
  assert.equal(r.format, 'safetensors');
  for (const [got, path] of [
    [r.weights, 'model.safetensors'],
    [r.config, 'config.json'],
    [r.tokenizer, 'tokenizer.json'],
  ]) {
    const want = file(path);
    assert.equal(got.url, want.url.replace('https://huggingface.co/', 'http://127.0.0.1:8080/hub/'));
    assert.equal(got.sha256, want.sha256);
    assert.equal(got.size, want.size);
    assert.match(got.sha256, /^[0-9a-f]{64}$/);
  }
  // Without hubUrl the hub itself, at the pinned commit.
  assert.match(
    resolveModel('all-minilm-l6-v2').weights.url,
    /^https:\/\/huggingface\.co\/sentence-transformers\/all-MiniLM-L6-v2\/resolve\/[0-9a-f]{40}\/model\.safetensors$/,
  );
});

test('a variant is picked by id; an unknown one is UnknownModel naming the variants', () => {
  const m = catalogue.models.find((m) => m.variants.length > 0);
  for (const v of m.variants) {
    const r = resolveModel(m.id, { variant: v.id });
    assert.equal(r.variant, v.id);
    assert.equal(r.weights.url, v.files.find((f) => /\.(gguf|safetensors)$/.test(f.path)).url);
  }
  assert.equal(resolveModel(m.id, { variant: m.variant }).variant, m.variant);
  assert.throws(
    () => resolveModel(m.id, { variant: 'no-such-variant' }),
    (e) =>
      e instanceof WebslmError &&
      e.name === 'UnknownModel' &&
      e.message.includes(`${m.id} has no variant 'no-such-variant'`) &&
      [m.variant, ...m.variants.map((v) => v.id)].every((id) => e.message.includes(id)),
  );
  assert.throws(
    () => resolveModel('no-such-model'),
    (e) => e.name === 'UnknownModel',
  );
});

test("checkSupport's catalogue sizes list each variant's download bytes and GPU memory", () => {
  const m = entry('phi-2');
  const sizes = catalogueSizes('phi-2');
  assert.equal(sizes.variant, m.variant);
  assert.equal(sizes.variants.length, 1 + m.variants.length);
  const first = sizes.variants[0];
  assert.equal(
    first.downloadBytes,
    m.files.reduce((s, f) => s + f.size, 0),
  );
  assert.ok(first.downloadBytes > 1e9, 'Phi-2 at 4 bits is over a GB');
  assert.equal(first.gpuMemoryBytes, m.gpu_memory_mb * 2 ** 20);
  assert.equal(catalogueSizes({ url: '/x.gguf' }), undefined);
});
