// Which files a model is: a catalogue id (src/catalogue/models.json, shared with the CLI) or
// the page's own URLs.

import { WebslmError } from './errors.js';
import catalogue from './generated/catalogue.js';

/**
 * A model: a catalogue id, or `{ url | urls, sha256?, size?, format?, task?, configUrl?,
 * tokenizerUrl?, tokenizerConfigUrl? }`. Returns `{ id, task, format, weights, config,
 * tokenizer, tokenizerConfig }`, each file `{ url, size?, sha256? }`.
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
  };
}

/**
 * The files a model loads, weights first (encoders do not read tokenizer_config.json).
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @returns {import('./webslm.js').ModelFile[]}
 */
export function modelFiles(resolved) {
  const chat = resolved.task === 'text-generation' ? [resolved.tokenizerConfig] : [];
  return /** @type {import('./webslm.js').ModelFile[]} */ (
    [resolved.weights, resolved.config, resolved.tokenizer, ...chat].filter(Boolean)
  );
}

export { catalogue };
