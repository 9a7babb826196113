// A decoder as an engine in OpenAI's shapes: chat.completions.create and completions.create,
// whole or streamed. A `signal` (or interrupt()) stops a generation, which then finishes with
// finish_reason 'abort' and the text made so far.

import { adapterRegistry } from './adapter.js';
import { WebslmError } from './errors.js';
import { serialQueue } from './queue.js';
import { deviceRecovery } from './recovery.js';
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

/** OpenAI's limits on the request options below (src/sampling.rs checks the same). */
export const REQUEST_LIMITS = Object.freeze({ max_n: 128, max_top_logprobs: 20, max_logit_bias: 100, max_penalty: 2 });

const invalid = (/** @type {string} */ message) => new WebslmError('InvalidRequest', message);

/**
 * `value` if it is a number in [lo, hi] (an integer when `integer`), else an InvalidRequest.
 * @param {string} name
 * @param {unknown} value
 * @param {number} lo
 * @param {number} hi
 * @param {boolean} [integer]
 */
function inRange(name, value, lo, hi, integer = false) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi || (integer && !Number.isInteger(value))) {
    throw invalid(`${name} = ${JSON.stringify(value)} must be ${integer ? 'an integer' : 'a number'} in ${lo}..${hi}`);
  }
  return value;
}

/**
 * OpenAI's `logit_bias` ({"token id": bias}) as the `[id, bias]` pairs src/web.rs takes.
 * @param {unknown} bias
 * @returns {[number, number][]}
 */
export function logitBiasPairs(bias) {
  if (bias === undefined || bias === null) return [];
  if (typeof bias !== 'object' || Array.isArray(bias)) throw invalid('logit_bias must be an object of token id -> bias');
  return Object.entries(bias).map(([id, b]) => {
    if (!/^\d+$/.test(id) || Number(id) > 0xffffffff) throw invalid(`logit_bias key '${id}' is not a token id`);
    const m = REQUEST_LIMITS.max_logit_bias;
    return [Number(id), inRange(`logit_bias[${id}]`, b, -m, m)];
  });
}

/**
 * `logprobs` and `top_logprobs` as chat.completions takes them (a boolean and 0..20); the legacy
 * completions endpoint's `logprobs: N` (a count) means `top_logprobs: N`.
 * @param {import('./webslm.js').GenerationRequest} req
 */
export function logprobsParams(req) {
  const lp = req.logprobs ?? false;
  const m = REQUEST_LIMITS.max_top_logprobs;
  if (typeof lp === 'number') return { logprobs: true, top_logprobs: inRange('logprobs', lp, 0, m, true) };
  if (typeof lp !== 'boolean') throw invalid(`logprobs = ${JSON.stringify(lp)} must be a boolean`);
  const top = req.top_logprobs ?? 0;
  inRange('top_logprobs', top, 0, m, true);
  if (top > 0 && !lp) throw invalid('top_logprobs needs logprobs: true');
  return { logprobs: lp, top_logprobs: top };
}

/**
 * The wasm `generate` options for an OpenAI-style request; out-of-range options are
 * InvalidRequest errors before anything runs.
 * @param {import('./webslm.js').GenerationRequest} req
 */
export function generationParams(req) {
  const d = SAMPLING_DEFAULTS;
  const pm = REQUEST_LIMITS.max_penalty;
  if (req.seed !== undefined && req.seed !== null) inRange('seed', req.seed, 0, Number.MAX_SAFE_INTEGER, true);
  return {
    max_tokens: req.max_tokens ?? MAX_TOKENS_DEFAULT,
    temperature: req.temperature ?? d.temperature,
    top_k: req.top_k ?? d.top_k,
    top_p: req.top_p ?? d.top_p,
    min_p: req.min_p ?? d.min_p,
    repeat_penalty: req.repeat_penalty ?? d.repeat_penalty,
    frequency_penalty: inRange('frequency_penalty', req.frequency_penalty ?? 0, -pm, pm),
    presence_penalty: inRange('presence_penalty', req.presence_penalty ?? 0, -pm, pm),
    logit_bias: logitBiasPairs(req.logit_bias),
    ...logprobsParams(req),
    // OpenAI samples afresh on every call unless a seed is given.
    seed: req.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop: /** @type {string[]} */ ([]).concat(req.stop ?? []),
    ignore_eos: Boolean(req.ignore_eos),
    constraint: constraintParam(req),
  };
}

/**
 * How many choices a request wants (`n`, 1..128) and whether a stream ends with OpenAI's usage
 * chunk (`stream_options: { include_usage: true }`).
 * @param {import('./webslm.js').GenerationRequest} req
 */
export function choiceParams(req) {
  const n = inRange('n', req.n ?? 1, 1, REQUEST_LIMITS.max_n, true);
  const so = req.stream_options ?? {};
  if (typeof so !== 'object' || (so.include_usage !== undefined && typeof so.include_usage !== 'boolean')) {
    throw invalid('stream_options must be { include_usage: boolean }');
  }
  return { n, includeUsage: Boolean(so.include_usage) };
}

/**
 * Structured output for the wasm side (src/web.rs `WebConstraint`): OpenAI's `response_format`
 * (`json_object`, or `json_schema` with `{ name, schema, strict }`), or the extensions `grammar`
 * (Lark, as llguidance reads it) and `regex`. At most one; `response_format: { type: 'text' }` is none.
 * @param {import('./webslm.js').GenerationRequest} req
 */
export function constraintParam(req) {
  const rf = req.response_format;
  /** @type {{ type: string, value?: unknown }[]} */
  const given = [];
  if (rf && rf.type !== 'text') {
    if (rf.type === 'json_object') given.push({ type: 'json_object' });
    else if (rf.type === 'json_schema') {
      const schema = rf.json_schema?.schema;
      if (schema === null || typeof schema !== 'object') {
        throw new WebslmError('InvalidConstraint', 'response_format json_schema needs json_schema.schema, an object');
      }
      given.push({ type: 'json_schema', value: schema });
    } else {
      const type = /** @type {{ type?: unknown }} */ (rf).type;
      throw new WebslmError('InvalidConstraint', `response_format type '${type}' is not json_object, json_schema or text`);
    }
  }
  if (req.grammar !== undefined) given.push({ type: 'grammar', value: String(req.grammar) });
  if (req.regex !== undefined) given.push({ type: 'regex', value: String(req.regex) });
  if (given.length > 1) {
    throw new WebslmError('InvalidConstraint', 'give at most one of response_format, grammar and regex');
  }
  return given[0];
}

/**
 * One choice as the wasm side returns it; `logprobs` is OpenAI's `{ content }` when asked for.
 * @typedef {{ text: string, ids: number[], prompt_tokens: number, finish_reason: 'stop' | 'length' | 'abort', prefill_secs: number, decode_secs: number, logprobs?: { content: object[] } | null }} Generation
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

/** OpenAI's usage of n choices: the prompt counted once, every choice's tokens. */
export const usage = (/** @type {Generation[]} */ outs) => {
  const prompt = outs[0]?.prompt_tokens ?? 0;
  const completion = outs.reduce((sum, o) => sum + o.ids.length, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
};

/**
 * The legacy completions endpoint's `logprobs` object for `entries` (OpenAI's `{ content }`
 * entries): parallel arrays of tokens, their logprobs, a `{ token: logprob }` object of the
 * alternatives per token, and each token's character offset in the completion text from `offset`.
 * @param {{ token: string, logprob: number, top_logprobs?: { token: string, logprob: number }[] }[]} entries
 * @param {number} offset
 */
export function legacyLogprobs(entries, offset = 0) {
  const text_offset = [];
  let at = offset;
  for (const e of entries) {
    text_offset.push(at);
    at += e.token.length;
  }
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries((e.top_logprobs ?? []).map((t) => [t.token, t.logprob]))),
    text_offset,
  };
}

/**
 * The reply shapes of one endpoint: the whole reply (`full`, n choices), a streamed `chunk` of
 * choice `index`, a choice's `finish` chunk (the last one of a single choice also carries the
 * usage, as before `n`), and OpenAI's usage-only chunk (`stream_options.include_usage`).
 * @typedef {{
 *   full: (id: string, created: number, outs: Generation[]) => object,
 *   chunk: (id: string, created: number, index: number, piece: string, first: boolean, logprobs: object[] | undefined) => object,
 *   finish: (id: string, created: number, index: number, out: Generation, outs: Generation[] | null) => object,
 *   usage: (id: string, created: number, outs: Generation[]) => object,
 * }} Shape
 */

/**
 * @param {string} model
 * @param {string} object  the reply's `object` (a stream's chunks use `chunkObject`)
 * @param {string} chunkObject
 * @param {(out: Generation) => object} fullChoice
 * @param {(piece: string, first: boolean) => object} chunkChoice
 * @param {object} lastChoice  a finish chunk's choice, before its finish_reason
 * @returns {Shape}
 */
function shape(model, object, chunkObject, fullChoice, chunkChoice, lastChoice, legacy = false) {
  // A legacy stream's text offsets continue over its chunks: the next offset per choice.
  /** @type {Map<string, number>} */
  const offsets = new Map();
  /** A choice's `logprobs`: OpenAI's `{ content }` (or legacy arrays), null when not asked for. */
  const logprobsOf = (/** @type {Generation} */ out) =>
    out.logprobs ? (legacy ? legacyLogprobs(/** @type {any[]} */ (out.logprobs.content)) : out.logprobs) : null;
  /** A chunk's `logprobs` for its `entries`, starting where the choice's text stands. */
  const chunkLogprobs = (/** @type {string} */ key, /** @type {any[]} */ entries, /** @type {boolean} */ first) => {
    if (!legacy) return { content: entries };
    const at = first ? 0 : (offsets.get(key) ?? 0);
    offsets.set(key, at + entries.reduce((n, e) => n + e.token.length, 0));
    return legacyLogprobs(entries, at);
  };
  const head = (/** @type {string} */ id, /** @type {number} */ created, /** @type {string} */ obj) => ({
    id,
    object: obj,
    created,
    model,
  });
  return {
    full: (id, created, outs) => ({
      ...head(id, created, object),
      choices: outs.map((out, index) => ({
        index,
        ...fullChoice(out),
        logprobs: logprobsOf(out),
        finish_reason: out.finish_reason,
      })),
      usage: usage(outs),
      webslm: {
        ids: outs[0].ids,
        prefill_secs: outs[0].prefill_secs,
        decode_secs: outs.reduce((t, o) => t + o.decode_secs, 0),
      },
    }),
    chunk: (id, created, index, piece, first, logprobs) => ({
      ...head(id, created, chunkObject),
      choices: [
        {
          index,
          ...chunkChoice(piece, first),
          ...(logprobs ? { logprobs: chunkLogprobs(`${id}:${index}`, logprobs, first) } : {}),
          finish_reason: null,
        },
      ],
    }),
    finish: (id, created, index, out, outs) => {
      offsets.delete(`${id}:${index}`);
      return {
        ...head(id, created, chunkObject),
        choices: [{ index, ...lastChoice, finish_reason: out.finish_reason }],
        ...(outs ? { usage: usage(outs) } : {}),
      };
    },
    usage: (id, created, outs) => ({ ...head(id, created, chunkObject), choices: [], usage: usage(outs) }),
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

/**
 * (text) completions: a prompt in, text out. `legacy`: the request asked `logprobs: N` as the
 * legacy endpoint does, and gets its logprobs shape back (tokens, token_logprobs, top_logprobs,
 * text_offset); `logprobs: true` gets chat's `{ content }`.
 */
const textShape = (/** @type {string} */ model, legacy = false) =>
  shape(
    model,
    'text_completion',
    'text_completion',
    (out) => ({ text: out.text }),
    (piece) => ({ text: piece }),
    { text: '' },
    legacy,
  );

/**
 * The engine around a wasm WebEngine. Every call runs on the current engine, which `reopen()`
 * replaces after a GPU device loss (pkg/recovery.js): the call that was running rejects with
 * DeviceLost and the next one runs on a new device.
 * @param {any} first  the wasm WebEngine (guarded by wasm.js)
 * @param {string} modelId
 * @param {import('./webslm.js').LoadInfo} loadInfo
 * @param {() => Promise<any>} reopen  the same model loaded again, as a new WebEngine
 * @returns {import('./webslm.js').Engine}
 */
export function decoderEngine(first, modelId, loadInfo, reopen) {
  const serial = serialQueue();
  const device = deviceRecovery(first, {
    // A new device has none of the adapters: each is attached again.
    reopen: async () => {
      const web = await reopen();
      await adapters.reattach(web);
      return web;
    },
    lostError: (/** @type {string} */ message) => new WebslmError('DeviceLost', message),
  });
  // One call at a time, each given the current wasm engine (never the first one closed over).
  const queue = {
    /**
     * @template T
     * @param {(web: any) => Promise<T> | T} task
     * @param {AbortSignal} [signal]
     * @returns {Promise<T>}
     */
    run: (task, signal) => serial.run(() => device.run(task), signal),
    idle: serial.idle,
  };
  const adapters = adapterRegistry(queue.run);
  // The running job's stop flag: interrupt() stops that job only, never one still queued.
  /** @type {{ stop: boolean } | null} */
  let running = null;

  /**
   * @param {(web: any) => ArrayLike<number>} promptIds
   * @param {ReturnType<typeof generationParams>} params
   * @param {unknown} requested  the request's `adapters`
   * @param {((piece: string, logprobs?: object[]) => void) | undefined} onText
   * @param {{ stop: boolean }} handle
   * @param {AbortSignal} [signal]
   * @returns {Promise<Generation>}
   */
  const generate = (promptIds, params, requested, onText, handle, signal) => {
    const onAbort = () => {
      handle.stop = true;
    };
    if (signal?.aborted) handle.stop = true;
    signal?.addEventListener('abort', onAbort, { once: true });
    // Not queue.run(task, signal): an abort resolves with what was generated, not a rejection.
    const job = queue.run(async (web) => {
      if (handle.stop) return NOT_STARTED;
      running = handle;
      try {
        const ids = Uint32Array.from(promptIds(web));
        // Numeric ids now, not when the request was made: a recovery may have renumbered them.
        const run = { ...params, adapters: adapters.params(requested) };
        return await web.generate(ids, run, (/** @type {string} */ piece, /** @type {object[] | undefined} */ lps) => {
          onText?.(piece, lps ?? undefined);
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
   * @param {(web: any) => ArrayLike<number>} promptIds
   * @param {Shape} shape
   * @returns {Promise<any>}
   */
  async function create(req, options, promptIds, shape) {
    const created = Math.floor(Date.now() / 1000);
    const id = `webslm-${created}-${Math.random().toString(36).slice(2, 8)}`;
    const params = generationParams(req);
    adapters.params(req.adapters); // an unknown adapter fails here, before the queue
    const { n, includeUsage } = choiceParams(req);
    // Choice i samples with seed + i (src/sampling.rs `choice_seed`), one after another; each
    // after the first reuses the prompt's KV cache.
    const paramsOf = (/** @type {number} */ i) => ({ ...params, seed: params.seed + i });
    const handle = { stop: false };
    const signal = options?.signal;
    if (!req.stream) {
      const outs = [];
      for (let i = 0; i < n && !handle.stop; i++) {
        outs.push(await generate(promptIds, paramsOf(i), req.adapters, undefined, handle, signal));
      }
      return shape.full(id, created, outs);
    }
    return streamChunks(
      async (push, h) => {
        const outs = [];
        for (let i = 0; i < n && !h.stop; i++) {
          let first = true;
          const out = await generate(
            promptIds,
            paramsOf(i),
            req.adapters,
            (piece, lps) => {
              push(shape.chunk(id, created, i, piece, first, lps));
              first = false;
            },
            h,
            signal,
          );
          outs.push(out);
          // A single choice's finish chunk carries the usage too (webslm did before `n`).
          push(shape.finish(id, created, i, out, n === 1 ? outs : null));
        }
        return outs;
      },
      (outs) => (includeUsage ? [shape.usage(id, created, outs)] : []),
      handle,
    );
  }

  const chat = chatShape(modelId);
  const completion = textShape(modelId);
  const legacyCompletion = textShape(modelId, true);
  return {
    model: modelId,
    /** How the weights arrived: bytes, largest tensor, sha256, fromCache, seconds. */
    loadInfo,
    chat: {
      completions: {
        create: (req, options) => create(req, options, (web) => web.tokenize(web.chatPrompt(req.messages)), chat),
      },
    },
    completions: {
      // As in OpenAI's API, the prompt may be text or token ids.
      create: (req, options) =>
        create(
          req,
          options,
          (web) => (Array.isArray(req.prompt) ? req.prompt : web.tokenize(req.prompt)),
          typeof req.logprobs === 'number' ? legacyCompletion : completion,
        ),
    },
    tokenize: (text, options) => queue.run((web) => Array.from(web.tokenize(text)), options?.signal),
    /** The ids `chat.completions.create` feeds the model for `messages`. */
    promptIds: (messages, options) => queue.run((web) => Array.from(web.tokenize(web.chatPrompt(messages))), options?.signal),
    /** Forgets the KV cache, so the next prompt is prefilled in full (no prefix reuse). */
    resetCache: (options) => queue.run((web) => web.reset(), options?.signal),
    /**
     * Fetches (or reads from the cache), verifies and attaches a LoRA adapter; requests then
     * name it in `adapters: [{ id, scale }]`. Resolves to what `adapters()` lists for it.
     */
    loadAdapter: (spec, options) => adapters.load(spec, options),
    /** Frees an adapter's GPU memory; requests naming it fail from now on. */
    unloadAdapter: (id, options) => adapters.unload(id, options),
    /** The adapters loaded: `[{ id, format, scale, gpuBytes }]`, in load order. */
    adapters: async () => adapters.list(),
    /** Times the model was opened again on a new device after a loss. */
    deviceRecoveries: async () => device.recoveries,
    /** Destroys the GPU device now, even mid-generation, to test recovery (as WEBGL_lose_context). */
    loseDeviceForTest: async () => device.loseDevice(),
    wasmMemoryBytes,
    /** Stops the running generation (it finishes with finish_reason 'abort'). */
    interrupt() {
      if (running) running.stop = true;
    },
    async unload() {
      await queue.idle();
      device.dispose();
    },
  };
}
