// A decoder as an engine in OpenAI's shapes: chat.completions.create and completions.create,
// whole or streamed. A `signal` (or interrupt()) stops a generation, which then finishes with
// finish_reason 'abort' and the text made so far.

import { serialQueue } from './queue.js';
import { streamChunks } from './stream.js';
import { wasmMemoryBytes } from './wasm.js';

/** Sampling when a request does not say: the Rust defaults (src/sampling.rs, llama.cpp's). */
export const SAMPLING_DEFAULTS = Object.freeze({
  temperature: 0.8,
  top_k: 40,
  top_p: 0.95,
  min_p: 0.05,
  repeat_penalty: 1.0,
});

/** The most tokens a request generates when it does not say. */
export const MAX_TOKENS_DEFAULT = 256;

/**
 * The wasm `generate` options for an OpenAI-style request.
 * @param {import('./webslm.js').GenerationRequest} req
 */
export function generationParams(req) {
  const d = SAMPLING_DEFAULTS;
  return {
    max_tokens: req.max_tokens ?? MAX_TOKENS_DEFAULT,
    temperature: req.temperature ?? d.temperature,
    top_k: req.top_k ?? d.top_k,
    top_p: req.top_p ?? d.top_p,
    min_p: req.min_p ?? d.min_p,
    repeat_penalty: req.repeat_penalty ?? d.repeat_penalty,
    // OpenAI samples afresh on every call unless a seed is given.
    seed: req.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop: /** @type {string[]} */ ([]).concat(req.stop ?? []),
    ignore_eos: Boolean(req.ignore_eos),
  };
}

/**
 * @typedef {{ text: string, ids: number[], prompt_tokens: number, finish_reason: 'stop' | 'length' | 'abort', prefill_secs: number, decode_secs: number }} Generation
 */

/** What a generation aborted before it started returns. */
const NOT_STARTED = /** @type {Generation} */ ({
  text: '',
  ids: [],
  prompt_tokens: 0,
  finish_reason: 'abort',
  prefill_secs: 0,
  decode_secs: 0,
});

const usage = (/** @type {Generation} */ out) => ({
  prompt_tokens: out.prompt_tokens,
  completion_tokens: out.ids.length,
  total_tokens: out.prompt_tokens + out.ids.length,
});

/**
 * The reply shapes of one endpoint: the whole reply (`full`), a streamed `chunk`, and the
 * stream's `last` chunk, which carries the finish reason and the usage.
 * @typedef {{
 *   full: (id: string, created: number, out: Generation) => object,
 *   chunk: (id: string, created: number, piece: string, first: boolean) => object,
 *   last: (id: string, created: number, out: Generation) => object,
 * }} Shape
 */

/**
 * @param {string} model
 * @param {string} object  the reply's `object` (a stream's chunks use `chunkObject`)
 * @param {string} chunkObject
 * @param {(out: Generation) => object} fullChoice
 * @param {(piece: string, first: boolean) => object} chunkChoice
 * @param {object} lastChoice  a last chunk's choice, before its finish_reason
 * @returns {Shape}
 */
function shape(model, object, chunkObject, fullChoice, chunkChoice, lastChoice) {
  const head = (/** @type {string} */ id, /** @type {number} */ created, /** @type {string} */ obj) => ({
    id,
    object: obj,
    created,
    model,
  });
  return {
    full: (id, created, out) => ({
      ...head(id, created, object),
      choices: [{ index: 0, ...fullChoice(out), finish_reason: out.finish_reason }],
      usage: usage(out),
      webslm: { ids: out.ids, prefill_secs: out.prefill_secs, decode_secs: out.decode_secs },
    }),
    chunk: (id, created, piece, first) => ({
      ...head(id, created, chunkObject),
      choices: [{ index: 0, ...chunkChoice(piece, first), finish_reason: null }],
    }),
    last: (id, created, out) => ({
      ...head(id, created, chunkObject),
      choices: [{ index: 0, ...lastChoice, finish_reason: out.finish_reason }],
      usage: usage(out),
    }),
  };
}

/** chat.completions: messages in, an assistant message (or deltas) out. */
const chatShape = (/** @type {string} */ model) =>
  shape(
    model,
    'chat.completion',
    'chat.completion.chunk',
    (out) => ({ message: { role: 'assistant', content: out.text } }),
    (piece, first) => ({ delta: first ? { role: 'assistant', content: piece } : { content: piece } }),
    { delta: {} },
  );

/** (text) completions: a prompt in, text out. */
const textShape = (/** @type {string} */ model) =>
  shape(
    model,
    'text_completion',
    'text_completion',
    (out) => ({ text: out.text }),
    (piece) => ({ text: piece }),
    { text: '' },
  );

/**
 * The engine around a wasm WebEngine.
 * @param {any} web  the wasm WebEngine (guarded by wasm.js)
 * @param {string} modelId
 * @param {import('./webslm.js').LoadInfo} loadInfo
 * @returns {import('./webslm.js').Engine}
 */
export function decoderEngine(web, modelId, loadInfo) {
  const queue = serialQueue();
  // The running job's stop flag: interrupt() stops that job only, never one still queued.
  /** @type {{ stop: boolean } | null} */
  let running = null;

  /**
   * @param {() => ArrayLike<number>} promptIds
   * @param {ReturnType<typeof generationParams>} params
   * @param {((piece: string) => void) | undefined} onText
   * @param {{ stop: boolean }} handle
   * @param {AbortSignal} [signal]
   * @returns {Promise<Generation>}
   */
  const generate = (promptIds, params, onText, handle, signal) => {
    const onAbort = () => {
      handle.stop = true;
    };
    if (signal?.aborted) handle.stop = true;
    signal?.addEventListener('abort', onAbort, { once: true });
    // Not queue.run(task, signal): an abort resolves with what was generated, not a rejection.
    const job = queue.run(async () => {
      if (handle.stop) return NOT_STARTED;
      running = handle;
      try {
        const ids = Uint32Array.from(promptIds());
        return await web.generate(ids, params, (/** @type {string} */ piece) => {
          onText?.(piece);
          return !handle.stop;
        });
      } finally {
        running = null;
      }
    });
    return job.finally(() => signal?.removeEventListener('abort', onAbort));
  };

  /**
   * @param {import('./webslm.js').GenerationRequest} req
   * @param {{ signal?: AbortSignal } | undefined} options
   * @param {() => ArrayLike<number>} promptIds
   * @param {Shape} shape
   * @returns {Promise<any>}
   */
  async function create(req, options, promptIds, shape) {
    const created = Math.floor(Date.now() / 1000);
    const id = `webslm-${created}-${Math.random().toString(36).slice(2, 8)}`;
    const params = generationParams(req);
    const handle = { stop: false };
    const signal = options?.signal;
    if (!req.stream) return shape.full(id, created, await generate(promptIds, params, undefined, handle, signal));
    return streamChunks(
      (onText, h) => generate(promptIds, params, onText, h, signal),
      (piece, first) => shape.chunk(id, created, piece, first),
      (out) => shape.last(id, created, out),
      handle,
    );
  }

  const chat = chatShape(modelId);
  const completion = textShape(modelId);
  return {
    model: modelId,
    /** How the weights arrived: bytes, largest tensor, sha256, fromCache, seconds. */
    loadInfo,
    chat: {
      completions: {
        create: (req, options) => create(req, options, () => web.tokenize(web.chatPrompt(req.messages)), chat),
      },
    },
    completions: {
      // As in OpenAI's API, the prompt may be text or token ids.
      create: (req, options) =>
        create(req, options, () => (Array.isArray(req.prompt) ? req.prompt : web.tokenize(req.prompt)), completion),
    },
    tokenize: (text, options) => queue.run(() => Array.from(web.tokenize(text)), options?.signal),
    /** The ids `chat.completions.create` feeds the model for `messages`. */
    promptIds: (messages, options) => queue.run(() => Array.from(web.tokenize(web.chatPrompt(messages))), options?.signal),
    /** Forgets the KV cache, so the next prompt is prefilled in full (no prefix reuse). */
    resetCache: (options) => queue.run(() => web.reset(), options?.signal),
    wasmMemoryBytes,
    /** Stops the running generation (it finishes with finish_reason 'abort'). */
    interrupt() {
      if (running) running.stop = true;
    },
    async unload() {
      await queue.idle();
      web.free();
    },
  };
}
