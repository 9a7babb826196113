// The browser bench (issue 9): webslm (WebGPU) against wllama 3.13 (llama.cpp built to wasm, on
// the CPU) on the same GGUF files, in one page: cold load, warm load, time to first token and
// decode speed for the same prompt text and the same greedy, EOS-ignoring generation.
//
//   window.runBench(config) -> the report (see DEFAULTS for the config; scripts/bench/browser.mjs
//   drives it headless). A person can open /www/bench.html and press Run.
//
// One definition for both engines:
//   ttft_s       = prefill of the prompt plus producing the first token, on the engine's own clock
//                  (webslm: prefill_secs, which includes reading the first token back from the GPU;
//                  wllama: timings.prompt_ms, which llama-server stops when the first token is
//                  sampled). Wall-clock round trips are kept beside it as wall_s / ttft_wall_s.
//   decode_tok_s = tokens after the first / the time after the first
//                  (webslm: (ids.length - 1) / decode_secs; wllama: (predicted_n - 1) / predicted_ms,
//                  since llama-server starts predicted_ms when the first token is sampled, not
//                  predicted_per_second, which counts that first token too).
//   load_s       = from the engine's constructor call until it can generate (worker start, wasm
//                  compile, weights in place); cold: the engine's cache emptied first; warm: the
//                  weights from the engine's cache (webslm: Cache API; wllama: OPFS).

/** The models a person (or the runner, by id) can pick: GGUF files both engines read. */
export const BENCH_MODELS = [
  { id: 'smollm2', name: 'SmolLM2 135M Instruct (Q4_1)', url: '/models/SmolLM2-135M-Instruct.Q4_1.gguf' },
  { id: 'gemma3', name: 'Gemma 3 270M (Q4_K_M)', url: '/models/gemma-3-270m-q4_k_m.gguf' },
];

const WEBSLM_JS = '/pkg/webslm.js';
const WLLAMA_VERSION = '3.13.0'; // the devDependency in package.json, served from node_modules
const WLLAMA_JS = '/node_modules/@wllama/wllama/esm/index.js';
const WLLAMA_WASM = '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';

export const DEFAULTS = {
  models: BENCH_MODELS.slice(0, 1), // [{ id, url, decodeTokens? }]: decodeTokens overrides per model
  runs: 3,
  promptTokens: 32,
  decodeTokens: 32,
  contextLength: 1024, // both engines' KV cache (wllama's default n_ctx)
  webslmWorker: true,
  wllamaThreads: [1, 2], // 2 (or more) only when the page is crossOriginIsolated
};

// The same prose as the native bench (src/bench/prompt.rs): speed does not depend on what the
// tokens say, but a fixed text makes every run and engine see the same text.
const PROSE = 'The lighthouse keeper climbed the spiral stairs every evening a little before sunset, carrying a can of oil, a clean cloth and a notebook in which he wrote down the weather. Over the years the notebook had become a kind of diary of the coast: the week the herring came back, the winter the harbour froze, the summer a whale slept for three days in the bay while the whole village rowed out to look at it. Ships no longer needed him, strictly speaking. Their captains steered by satellites and radio beacons, and the light itself had been automatic for a decade. Still, the company paid him to stay, partly from habit and partly because machines break on stormy nights, which is exactly when somebody ought to be awake. He liked the quiet. In the mornings he repaired nets for the fishermen, in the afternoons he read history books borrowed from the library boat, and at night he listened to the sea arguing with the rocks. His granddaughter visited in August and asked him whether he was ever lonely. He thought about it for a long time before answering that loneliness is a question of attention rather than of company, and that a man who watches the sky carefully is never entirely alone. ';

const now = () => performance.now() / 1000;
const round = (x, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const errorText = (e) => `${e?.name ?? 'Error'}: ${e?.message ?? String(e)}`;

/**
 * The start of the prose that webslm's tokenizer turns into exactly `n` tokens (its start token
 * included). Both engines get this text: wllama 3.13 fails on a token-id prompt ("Invalid typed
 * array length"), so text is the one input they share; each row records the tokens its engine made.
 */
async function promptText(engine, n) {
  const words = PROSE.repeat(Math.ceil(n / 150) + 1).trim().split(' ');
  const count = async (text) => (await engine.tokenize(text)).length;
  if ((await count(words.join(' '))) < n) throw new Error(`the prose gives fewer than ${n} tokens`);
  // The most words that stay within n tokens (the count only grows as words are added).
  let lo = 0;
  let hi = words.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((await count(words.slice(0, mid).join(' '))) <= n) lo = mid;
    else hi = mid - 1;
  }
  const head = words.slice(0, lo).join(' ');
  let text = head;
  // The next word may be several tokens: add it a character at a time until n is reached.
  const next = words[lo] ?? '';
  for (let c = 1; c <= next.length && (await count(text)) < n; c++) text = `${head} ${next.slice(0, c)}`.trimStart();
  const got = await count(text);
  if (got !== n) throw new Error(`no start of the prose gives exactly ${n} tokens (closest: ${got})`);
  return text;
}

/** Median TTFT and decode speed of a row's runs. */
function summarise(row) {
  row.median_ttft_s = round(median(row.runs.map((r) => r.ttft_s)));
  row.median_decode_tok_s = round(median(row.runs.map((r) => r.decode_tok_s)), 3);
  return row;
}

// ---------------------------------------------------------------- webslm

// Both engines are imported when used, so that one that does not load (pkg/ not built,
// node_modules missing) fails its own rows and not the page.
async function loadWebslm() {
  try {
    return await import(WEBSLM_JS);
  } catch (e) {
    throw new Error(`webslm did not load from ${WEBSLM_JS} (scripts/build-pkg.sh?): ${e.message}`);
  }
}

/** webslm's row; also returns the prompt text (exactly promptTokens for webslm) for the other engines. */
async function benchWebslm(model, cfg, log) {
  const spec = { url: model.url, task: 'text-generation' };
  const options = { worker: cfg.webslmWorker, contextLength: cfg.contextLength };
  const row = { engine: 'webslm', backend: 'webgpu', worker: cfg.webslmWorker, model: model.id, runs: [] };
  let engine = null;
  let prompt = null;
  try {
    const { createEngine, deleteModelFromCache } = await loadWebslm();
    log(`webslm ${model.id}: cold load`);
    await deleteModelFromCache(spec);
    let t = now();
    engine = await createEngine(spec, options);
    row.cold_load_s = round(now() - t, 3);
    row.cold_from_cache = engine.loadInfo?.fromCache;
    prompt = await promptText(engine, cfg.promptTokens);

    log(`webslm ${model.id}: warm load`);
    await engine.unload();
    engine = null;
    t = now();
    engine = await createEngine(spec, options);
    row.warm_load_s = round(now() - t, 3);
    row.warm_from_cache = engine.loadInfo?.fromCache;

    const maxTokens = model.decodeTokens ?? cfg.decodeTokens;
    for (let i = 0; i < cfg.runs; i++) {
      log(`webslm ${model.id}: run ${i + 1}/${cfg.runs}`);
      await engine.resetCache(); // no prefix reuse: every run prefills the whole prompt
      t = now();
      const out = await engine.completions.create({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true });
      const wall = now() - t;
      const { ids: generated, prefill_secs: prefill, decode_secs: decode } = out.webslm;
      row.runs.push({
        ttft_s: round(prefill), prompt_tokens: out.usage.prompt_tokens, completion_tokens: out.usage.completion_tokens,
        decode_tok_s: round(generated.length > 1 ? (generated.length - 1) / decode : NaN, 3), wall_s: round(wall, 3),
      });
    }
  } catch (e) {
    row.error = errorText(e);
  } finally {
    await engine?.unload().catch(() => {});
  }
  return { row: summarise(row), prompt };
}

// ---------------------------------------------------------------- wllama

let wllamaModule = null;
async function loadWllama() {
  wllamaModule ??= import(WLLAMA_JS).catch((e) => {
    wllamaModule = null;
    throw new Error(`@wllama/wllama did not load from ${WLLAMA_JS} (npm install?): ${e.message}`);
  });
  return wllamaModule;
}

// llama.cpp's own log lines would drown the bench's; warnings and errors still show.
const quietLogger = { debug() {}, log() {}, warn: console.warn, error: console.error };

/** A wllama instance with `url` loaded (from its OPFS cache when there). */
async function openWllama(url, threads, cfg) {
  const { Wllama } = await loadWllama();
  const wllama = new Wllama({ default: WLLAMA_WASM }, { suppressNativeLog: true, logger: quietLogger });
  try {
    // n_gpu_layers 0: llama.cpp's CPU backend in wasm. (With its default, wllama 3.13 on
    // SwiftShader still put every layer on the CPU, so there is no wllama WebGPU row.)
    await wllama.loadModelFromUrl(url, { n_ctx: cfg.contextLength, n_gpu_layers: 0, n_threads: threads, useCache: true });
  } catch (e) {
    await wllama.exit().catch(() => {});
    throw e;
  }
  return wllama;
}

/** One greedy generation, streamed so that the wall-clock time to the first token is seen too. */
async function wllamaGenerate(wllama, prompt, maxTokens) {
  const started = now();
  let firstChunk = null;
  let timings = null;
  await wllama.createCompletion({
    prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true,
    cache_prompt: false, // llama-server would otherwise reuse the previous run's KV cache
    stream: true,
    onData: (chunk) => {
      firstChunk ??= now();
      timings = chunk.timings ?? timings;
    },
  });
  const wall = now() - started;
  if (!timings) throw new Error('wllama returned no timings');
  const { prompt_n: promptN, prompt_ms: promptMs, predicted_n: predictedN, predicted_ms: predictedMs } = timings;
  return {
    ttft_s: round(promptMs / 1000), prompt_tokens: promptN, completion_tokens: predictedN,
    decode_tok_s: round(predictedN > 1 ? (predictedN - 1) / (predictedMs / 1000) : NaN, 3),
    ttft_wall_s: round(firstChunk - started), wall_s: round(wall, 3),
    cached_prompt_tokens: timings.cache_n, // 0: the prompt was prefilled in full
  };
}

async function benchWllama(model, threads, prompt, cfg, log) {
  const url = new URL(model.url, location.href).href; // wllama keys its cache by the full URL
  const row = { engine: 'wllama', backend: 'wasm-cpu', version: WLLAMA_VERSION, threads, model: model.id, runs: [] };
  const label = `wllama(${threads}t) ${model.id}`;
  let wllama = null;
  try {
    const { Wllama } = await loadWllama();
    row.libllama = Wllama.getLibllamaVersion?.();
    log(`${label}: cold load`);
    await new Wllama({ default: WLLAMA_WASM }).cacheManager.delete(url);
    let t = now();
    wllama = await openWllama(url, threads, cfg);
    row.cold_load_s = round(now() - t, 3);
    row.multithread = wllama.isMultithread();
    row.threads_used = wllama.getNumThreads();

    log(`${label}: warm load`);
    await wllama.exit();
    wllama = null;
    t = now();
    wllama = await openWllama(url, threads, cfg);
    row.warm_load_s = round(now() - t, 3);

    const maxTokens = model.decodeTokens ?? cfg.decodeTokens;
    for (let i = 0; i < cfg.runs; i++) {
      log(`${label}: run ${i + 1}/${cfg.runs}`);
      row.runs.push(await wllamaGenerate(wllama, prompt, maxTokens));
    }
  } catch (e) {
    row.error = errorText(e);
  } finally {
    await wllama?.exit().catch(() => {});
  }
  return summarise(row);
}

// ---------------------------------------------------------------- the run

async function environment() {
  const env = {
    userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency, adapter: null,
  };
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    if (info) {
      env.adapter = {
        vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
        isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
      };
    }
  } catch (e) {
    env.adapter = { error: errorText(e) };
  }
  return env;
}

/** Runs the bench; `onLog(line)` hears progress. Each engine's failure stays in its own row. */
export async function runBench(config = {}, onLog = () => {}) {
  const cfg = { ...DEFAULTS, ...config };
  const log = (line) => {
    console.log(`[bench] ${line}`);
    onLog(line);
  };
  const env = await environment();
  const report = { ...env, config: cfg, prompt: null, results: [], started: new Date().toISOString() };
  for (const model of cfg.models) {
    const { row, prompt: cut } = await benchWebslm(model, cfg, log);
    report.results.push(row);
    // Without webslm's cut (it failed), wllama gets about as many words; its prompt_tokens says
    // how many tokens that made.
    const prompt = cut ?? PROSE.split(' ').slice(0, cfg.promptTokens).join(' ');
    report.prompt ??= {};
    report.prompt[model.id] = { text: prompt, webslm_tokens: cut ? cfg.promptTokens : null };
    for (const threads of cfg.wllamaThreads) {
      if (threads > 1 && !env.crossOriginIsolated) {
        report.results.push({ engine: 'wllama', threads, model: model.id, skipped: 'the page is not crossOriginIsolated, so wllama cannot start threads' });
        continue;
      }
      report.results.push(await benchWllama(model, threads, prompt, cfg, log));
    }
  }
  report.finished = new Date().toISOString();
  return report;
}

window.runBench = runBench;
window.benchModels = BENCH_MODELS;
