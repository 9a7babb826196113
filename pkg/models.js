// Which files a model is: a catalogue id (src/catalogue/models.json, shared with the CLI) or
// the page's own URLs.

import { WebslmError } from './errors.js';
import catalogue from './generated/catalogue.js';

/**
 * A model: a catalogue id, or `{ url | urls, sha256?, size?, format?, task?, configUrl?,
 * tokenizerUrl?, tokenizerConfigUrl?, vocabUrl?, specialTokensMapUrl? }`. Returns `{ id, task,
 * format, weights, config, tokenizer, tokenizerConfig, vocab?, specialTokensMap? }`, each file
 * `{ url, size?, sha256? }`. A BERT repo without tokenizer.json gives `vocab` (vocab.txt) instead.
 * @type {typeof import('./webslm.js').resolveModel}
 */
export function resolveModel(model) {
  if (typeof model === 'string') {
    const entry = catalogue.models.find((/** @type {{ id: string }} */ m) => m.id === model);
    if (!entry) {
      const ids = catalogue.models.map((/** @type {{ id: string }} */ m) => m.id).join(', ');
      throw new WebslmError('UnknownModel', `${model} is not a catalogue id (${ids})`);
    }
    const file = (/** @type {string} */ path) => entry.files.find((/** @type {{ path: string }} */ f) => f.path === path);
    const weights = file('model.safetensors');
    if (!weights) throw new WebslmError('UnsupportedModel', `${model}: sharded weights are not supported in the browser yet`);
    return {
      id: entry.id,
      task: entry.task,
      format: 'safetensors',
      weights,
      config: file('config.json'),
      tokenizer: file('tokenizer.json'),
      tokenizerConfig: file('tokenizer_config.json'),
      // vocab.txt only where there is no tokenizer.json (the wasm side prefers tokenizer.json).
      ...(file('tokenizer.json') ? {} : { vocab: file('vocab.txt'), specialTokensMap: file('special_tokens_map.json') }),
    };
  }
  const url = model?.url ?? model?.urls?.[0];
  if (!url) throw new WebslmError('UnknownModel', 'a model needs a catalogue id or { url }');
  const format = model.format ?? (new URL(url, 'http://x/').pathname.endsWith('.gguf') ? 'gguf' : 'safetensors');
  const opt = (/** @type {string | undefined} */ u) => (u ? { url: u } : undefined);
  return {
    id: model.id ?? url,
    task: model.task ?? 'text-generation',
    format,
    weights: { url, sha256: model.sha256, size: model.size },
    config: opt(model.configUrl),
    tokenizer: opt(model.tokenizerUrl),
    tokenizerConfig: opt(model.tokenizerConfigUrl),
    vocab: opt(model.vocabUrl),
    specialTokensMap: opt(model.specialTokensMapUrl),
  };
}

/**
 * The files a model loads, weights first. Decoders read tokenizer_config.json for the chat
 * template; encoders only with a vocab.txt (its casing, special tokens and length).
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @returns {import('./webslm.js').ModelFile[]}
 */
export function modelFiles(resolved) {
  return /** @type {import('./webslm.js').ModelFile[]} */ (
    [resolved.weights, resolved.config, ...tokenizerFiles(resolved)].filter(Boolean)
  );
}

/**
 * The tokenizer files a model reads: tokenizer.json, else vocab.txt and its config files.
 * @param {import('./webslm.js').ResolvedModel} resolved
 */
export function tokenizerFiles(resolved) {
  // Decided by the files, not the task: a spec's task may not be known yet (hasModelInCache).
  if (!resolved.tokenizer && resolved.vocab) return [resolved.vocab, resolved.tokenizerConfig, resolved.specialTokensMap];
  return [resolved.tokenizer, resolved.task === 'text-generation' ? resolved.tokenizerConfig : undefined];
}

export { catalogue };
