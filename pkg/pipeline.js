// transformers.js-style pipelines over createEngine: `const classify = await
// pipeline('sentiment-analysis', model); await classify('I love it')`. Each pipeline function
// takes a `signal` in its options. `{ adapter }` in the options (a LoRA adapter spec, or a list
// of them) is loaded once and runs on every call of the pipeline.

import { resolveAdapter } from './adapter.js';
import { createEngine } from './engine.js';
import { WebslmError } from './errors.js';
import { resolveModel } from './models.js';
import { PIPELINE_TASKS, requireTask } from './task.js';

/**
 * The pipeline option `adapter` as a list of specs, each checked before any download. Every task
 * takes them: a decoder's low-rank terms, or an encoder's with the task head PEFT saved.
 * @param {unknown} adapter  a spec, a list of specs, or undefined
 * @returns {import('./webslm.js').AdapterSpec[]}
 */
export function pipelineAdapters(adapter) {
  if (adapter === undefined) return [];
  const specs = Array.isArray(adapter) ? adapter : [adapter];
  for (const spec of specs) resolveAdapter(spec);
  return specs;
}

/**
 * Loads `specs` onto `engine` (unloading it if one fails) and returns the request field naming
 * them all at their scales.
 * @param {any} engine
 * @param {import('./webslm.js').AdapterSpec[]} specs
 * @param {AbortSignal} [signal]
 * @returns {Promise<import('./webslm.js').ActiveAdapter[]>}
 */
async function withAdapters(engine, specs, signal) {
  const active = [];
  try {
    for (const spec of specs) {
      const { id, scale } = await engine.loadAdapter(spec, { signal });
      active.push({ id, scale });
    }
  } catch (e) {
    await engine.unload();
    throw e;
  }
  return active;
}

/**
 * @param {string} task
 * @param {import('./webslm.js').ModelSpec} model
 * @param {import('./webslm.js').PipelineOptions} [options]
 * @returns {Promise<(...args: any[]) => Promise<unknown>>}
 */
export async function pipeline(task, model, options = {}) {
  const wanted = PIPELINE_TASKS[/** @type {keyof typeof PIPELINE_TASKS} */ (task)];
  if (!wanted) throw new WebslmError('UnknownTask', `unknown task ${task} (${Object.keys(PIPELINE_TASKS).join(', ')})`);
  // A catalogue entry knows its task; a URL spec without one runs the pipeline's, which
  // createEngine checks against config.json before any weight byte is fetched.
  const declared = typeof model === 'string' ? resolveModel(model).task : model.task;
  if (declared) requireTask(typeof model === 'string' ? model : (model.id ?? model.url ?? 'the model'), declared, wanted);
  const { adapter, ...engineOptions } = /** @type {import('./webslm.js').PipelineOptions} */ (options);
  const specs = pipelineAdapters(adapter);
  const spec = typeof model === 'string' || model.task ? model : { ...model, task: wanted };
  const engine = /** @type {any} */ (await createEngine(/** @type {import('./webslm.js').ModelSpec} */ (spec), engineOptions));
  const adapters = await withAdapters(engine, specs, engineOptions.signal);
  switch (task) {
    case 'sentiment-analysis':
    case 'text-classification':
      return async (/** @type {string | string[]} */ text, { signal } = {}) => {
        const all = await engine.classify(text, { adapters, signal });
        return Array.isArray(text) ? all.map((/** @type {unknown[]} */ labels) => labels[0]) : [all[0][0]];
      };
    case 'feature-extraction':
      return async (/** @type {string | string[]} */ text, { signal } = {}) =>
        (await engine.embeddings.create({ input: text, adapters }, { signal })).data.map((/** @type {any} */ d) => d.embedding);
    case 'token-classification':
    case 'ner':
      return async (/** @type {string | string[]} */ text, { aggregation_strategy = 'first', signal } = {}) => {
        const all = await engine.ner(text, aggregation_strategy, { adapters, signal });
        return Array.isArray(text) ? all : all[0];
      };
    case 'question-answering':
      return async (/** @type {{ question: string, context: string }} */ { question, context }, { top_k = 1, signal } = {}) => {
        const answers = await engine.qa(question, context, top_k, { adapters, signal });
        return top_k === 1 ? (answers[0] ?? null) : answers;
      };
    case 'text-generation':
      return async (/** @type {string} */ prompt, /** @type {any} */ req = {}) => {
        const { signal, ...rest } = req;
        // The pipeline's adapters, unless the call names its own (`adapters: []`: the base model).
        const out = await engine.completions.create({ adapters, ...rest, prompt }, { signal });
        return [{ generated_text: prompt + out.choices[0].text }];
      };
    default:
      await engine.unload();
      throw new WebslmError('UnknownTask', `unknown task ${task}`);
  }
}
