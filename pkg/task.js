// Which task a checkpoint serves, known before any weight byte is fetched: a catalogue entry says
// so; a GGUF file is a decoder; a safetensors folder's config.json names its head in
// `architectures` (transformers' class names). A spec's own `task` (or the pipeline's, passed
// on) must be one the checkpoint can serve, else a typed error before the download.

import { openCache } from './cache.js';
import { readSmall } from './download.js';
import { WebslmError } from './errors.js';

/** A pipeline's task name -> the engine task behind it (transformers.js' aliases). */
export const PIPELINE_TASKS = Object.freeze({
  'sentiment-analysis': 'text-classification',
  'text-classification': 'text-classification',
  'feature-extraction': 'feature-extraction',
  'token-classification': 'token-classification',
  ner: 'token-classification',
  'question-answering': 'question-answering',
  'text-generation': 'text-generation',
});

/**
 * transformers' class-name endings -> the task of that head, first match wins.
 * @type {Array<[RegExp, string]>}
 */
const HEADS = [
  [/(ForCausalLM|LMHeadModel|ForConditionalGeneration)$/, 'text-generation'],
  [/ForSequenceClassification$/, 'text-classification'],
  [/ForTokenClassification$/, 'token-classification'],
  [/ForQuestionAnswering$/, 'question-answering'],
  // A bare encoder (BertModel, as sentence-transformers saves it) or a pre-training head: the
  // encoder's hidden states are all that is used.
  [/(Model|ForMaskedLM|ForPreTraining)$/, 'feature-extraction'],
];

/**
 * The task of the first class in config.json's `architectures`, or undefined when it names no
 * head webslm knows (or has no `architectures`).
 * @param {Uint8Array | undefined} bytes config.json
 * @param {string} where the file's URL, for the error message
 * @returns {string | undefined}
 */
export function taskFromConfig(bytes, where) {
  let config;
  try {
    config = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new WebslmError('FormatError', `${where} is not JSON: ${/** @type {Error} */ (e).message}`);
  }
  const arch = Array.isArray(config?.architectures) ? config.architectures[0] : undefined;
  const head = typeof arch === 'string' ? HEADS.find(([re]) => re.test(arch)) : undefined;
  return head?.[1];
}

/**
 * Whether a checkpoint whose head does `served` can run `wanted`: every encoder embeds, and
 * every other task needs its own head.
 * @param {string} served
 * @param {string} wanted
 */
export function canServe(served, wanted) {
  return served === wanted || (wanted === 'feature-extraction' && served !== 'text-generation');
}

/**
 * Throws UnsupportedModel unless a checkpoint that does `served` can run `wanted`.
 * @param {string} id the model, for the message
 * @param {string} served
 * @param {string} wanted
 */
export function requireTask(id, served, wanted) {
  if (!canServe(served, wanted)) {
    throw new WebslmError(
      'UnsupportedModel',
      `${id} is a ${served} checkpoint and cannot run ${wanted}; pick a model with that head (nothing was downloaded)`,
    );
  }
}

/**
 * The task a URL spec runs: a GGUF file is a decoder; otherwise config.json is read (and cached
 * for the load that follows) before any weight byte. `wanted` (the spec's own `task`) is checked
 * against it; without config.json the spec's task is taken as given, text generation by default.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {string | undefined} wanted
 * @param {AbortSignal} [signal]
 * @returns {Promise<string>}
 */
export async function taskOf(resolved, wanted, signal) {
  const tasks = /** @type {string[]} */ (Object.values(PIPELINE_TASKS));
  if (wanted !== undefined && !tasks.includes(wanted)) {
    throw new WebslmError('UnknownTask', `unknown task ${wanted} (${[...new Set(tasks)].join(', ')})`);
  }
  let served;
  if (resolved.format === 'gguf') served = 'text-generation';
  else if (!resolved.config) return wanted ?? 'text-generation';
  else {
    const url = resolved.config.url;
    served = taskFromConfig(await readSmall(resolved.config, await openCache(), signal), url);
    // A config without a known head: the spec's task is taken as given (nothing to check it by).
    if (!served && wanted) return wanted;
    if (!served) {
      throw new WebslmError(
        'UnsupportedModel',
        `${url}: its architectures name no head webslm knows; give the model spec a \`task\``,
      );
    }
  }
  if (wanted !== undefined) requireTask(resolved.id, served, wanted);
  return wanted ?? served;
}
