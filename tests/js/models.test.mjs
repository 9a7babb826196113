// Which files a model is: BERT repos without tokenizer.json load vocab.txt and its config files
// (issue 15), and a model with tokenizer.json never fetches them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogue, modelFiles, resolveModel } from '../../pkg/models.js';

const urls = (resolved) => modelFiles(resolved).map((f) => f.url);

test('a URL spec with vocabUrl loads vocab.txt, tokenizer_config.json and special_tokens_map.json', () => {
  const r = resolveModel({
    url: '/m/model.safetensors',
    configUrl: '/m/config.json',
    vocabUrl: '/m/vocab.txt',
    tokenizerConfigUrl: '/m/tokenizer_config.json',
    specialTokensMapUrl: '/m/special_tokens_map.json',
    task: 'text-classification',
  });
  assert.equal(r.vocab?.url, '/m/vocab.txt');
  assert.equal(r.tokenizer, undefined);
  assert.deepEqual(urls(r), [
    '/m/model.safetensors',
    '/m/config.json',
    '/m/vocab.txt',
    '/m/tokenizer_config.json',
    '/m/special_tokens_map.json',
  ]);
});

test('an encoder with tokenizer.json reads neither vocab.txt nor tokenizer_config.json', () => {
  const r = resolveModel({
    url: '/m/model.safetensors',
    configUrl: '/m/config.json',
    tokenizerUrl: '/m/tokenizer.json',
    vocabUrl: '/m/vocab.txt',
    tokenizerConfigUrl: '/m/tokenizer_config.json',
    task: 'feature-extraction',
  });
  assert.deepEqual(urls(r), ['/m/model.safetensors', '/m/config.json', '/m/tokenizer.json']);
});

test('a catalogue entry without tokenizer.json resolves to its vocab.txt', () => {
  const file = (path) => ({ path, url: `https://hub.example/bert/${path}`, size: 1 });
  const entry = {
    id: 'test-vocab-only-bert',
    task: 'text-classification',
    files: ['model.safetensors', 'config.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'].map(file),
  };
  catalogue.models.push(entry);
  try {
    const r = resolveModel(entry.id);
    assert.equal(r.tokenizer, undefined);
    assert.equal(r.vocab?.url, file('vocab.txt').url);
    assert.equal(r.specialTokensMap?.url, file('special_tokens_map.json').url);
    assert.equal(urls(r).length, 5);
  } finally {
    catalogue.models.splice(catalogue.models.indexOf(entry), 1);
  }
});
