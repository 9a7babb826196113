// Which files a model is: a catalogue id (src/catalogue/models.json, shared with the CLI), one of
// its variants, or the page's own URLs. A catalogue URL may point at a mirror instead of the hub
// (`hubUrl`), keeping its size and sha256.

import { WebslmError } from './errors.js';
import catalogue from './generated/catalogue.js';

/** The host that `hubUrl` replaces in catalogue URLs. */
const HUB = 'https://huggingface.co';

/**
 * @typedef {{ path: string, url: string, size?: number, sha256?: string, unverified?: boolean }} CatalogueFile
 * @typedef {{ id: string, format: string, dtype: string, gpu_memory_mb: number, files: CatalogueFile[], unverified?: boolean }} CatalogueVariant
 */

/**
 * The entry's downloads, the default first (its fields sit on the entry itself, named by `variant`).
 * @param {any} entry
 * @returns {CatalogueVariant[]}
 */
export function catalogueVariants(entry) {
  const { variant, format, dtype, gpu_memory_mb, files, unverified } = entry;
  return [{ id: variant, format, dtype, gpu_memory_mb, files, unverified }, ...(entry.variants ?? [])];
}

/** `url` on the mirror `hubUrl` (a base URL such as `https://mirror.example/hf`), if given. */
function onHub(/** @type {string} */ url, /** @type {string | undefined} */ hubUrl) {
  if (!hubUrl || !url.startsWith(`${HUB}/`)) return url;
  return hubUrl.replace(/\/+$/, '') + url.slice(HUB.length);
}

/**
 * A catalogue id's files, for its default download or the variant named.
 * @param {string} id
 * @param {{ variant?: string, hubUrl?: string }} options
 * @returns {import('./webslm.js').ResolvedModel}
 */
function resolveCatalogue(id, { variant, hubUrl }) {
  const entry = catalogue.models.find((/** @type {{ id: string }} */ m) => m.id === id);
  if (!entry) {
    const ids = catalogue.models.map((/** @type {{ id: string }} */ m) => m.id).join(', ');
    throw new WebslmError('UnknownModel', `${id} is not a catalogue id (${ids})`);
  }
  const all = catalogueVariants(entry);
  const picked = variant === undefined ? all[0] : all.find((v) => v.id === variant);
  if (!picked) {
    const known = all.map((v) => v.id).join(', ');
    throw new WebslmError('UnknownModel', `${id} has no variant '${variant}'; its variants are ${known}`);
  }
  const file = (/** @type {(f: CatalogueFile) => boolean} */ which) => {
    const f = picked.files.find(which);
    return f && { url: onHub(f.url, hubUrl), size: f.size, sha256: f.sha256 };
  };
  const named = (/** @type {string} */ path) => file((f) => f.path === path);
  const common = { id: entry.id, variant: picked.id, task: entry.task, licenseUrl: entry.gated ? entry.license_url : undefined };
  // A GGUF holds its tokenizer and chat template: one file.
  const gguf = picked.format === 'gguf' && file((f) => f.path.endsWith('.gguf'));
  if (gguf) return { ...common, format: 'gguf', weights: gguf };
  const weights = named('model.safetensors');
  if (!weights) {
    throw new WebslmError(
      'UnsupportedModel',
      `${id} (${picked.id}): sharded weights are not supported in the browser yet; its variants are ${all.map((v) => v.id).join(', ')}`,
    );
  }
  return {
    ...common,
    format: 'safetensors',
    weights,
    config: named('config.json'),
    tokenizer: named('tokenizer.json'),
    tokenizerConfig: named('tokenizer_config.json'),
    // vocab.txt only where there is no tokenizer.json (the wasm side prefers tokenizer.json).
    ...(named('tokenizer.json') ? {} : { vocab: named('vocab.txt'), specialTokensMap: named('special_tokens_map.json') }),
  };
}

/**
 * A model: a catalogue id (with `variant` and `hubUrl` from the options), or `{ url | urls,
 * sha256?, size?, format?, task?, configUrl?, tokenizerUrl?, tokenizerConfigUrl?, vocabUrl?,
 * specialTokensMapUrl? }`. Returns `{ id, variant?, task, format, weights, config, tokenizer,
 * tokenizerConfig, vocab?, specialTokensMap? }`, each file `{ url, size?, sha256? }`. A BERT repo
 * without tokenizer.json gives `vocab` (vocab.txt) instead.
 * @type {typeof import('./webslm.js').resolveModel}
 */
export function resolveModel(model, options = {}) {
  if (typeof model === 'string') return resolveCatalogue(model, options);
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
 * A catalogue id's downloads with their bytes and GPU memory (checkSupport reports them), or
 * undefined for a model given by URL.
 * @param {import('./webslm.js').ModelSpec} model
 * @param {string} [variant]
 */
export function catalogueSizes(model, variant) {
  const entry = typeof model === 'string' && catalogue.models.find((/** @type {{ id: string }} */ m) => m.id === model);
  if (!entry) return undefined;
  const variants = catalogueVariants(entry).map((v) => ({
    id: v.id,
    format: v.format,
    // null when a file's size is unknown (unverified), rather than a partial sum.
    downloadBytes: v.files.every((f) => typeof f.size === 'number') ? v.files.reduce((sum, f) => sum + (f.size ?? 0), 0) : null,
    gpuMemoryBytes: v.gpu_memory_mb * 2 ** 20,
    verified: !v.unverified && v.files.every((f) => !f.unverified),
  }));
  return { variant: variant ?? entry.variant, variants };
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
