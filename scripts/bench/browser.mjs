// The browser bench, headless: webslm (WebGPU) against wllama (llama.cpp in wasm, CPU) in
// Chromium, one page, the same GGUF files and prompt ids, and against transformers.js (ONNX in
// wasm, CPU) on MiniLM embeddings (www/bench.js measures; this drives it).
//
//   node scripts/bench/browser.mjs --smoke                      # CI: SmolLM2, 1 run, 8+4 tokens
//   node scripts/bench/browser.mjs --models smollm2,gemma3 --runs 3 --prompt-tokens 32 --decode-tokens 32
//   scripts/bench/fetch-onnx-twin.sh && node scripts/bench/browser.mjs --models minilm --runs 3
//
// Options: --models a,b (an id from www/bench.js, optionally id:N for N decode tokens on that
// model), --runs, --prompt-tokens, --decode-tokens, --threads 1,2 (wllama and transformers.js),
// --sentences N and --batch-sizes 1,8 (minilm), --out FILE (default
// bench/results/browser-<date>.json), --timeout-min (the whole bench; SwiftShader is slow),
// --kernels auto|software|gpu (webslm's kernel path), --real-gpu (launch Chromium on the machine's
// GPU rather than SwiftShader, and fail when the adapter WebGPU gives is still a fallback one;
// scripts/bench/gpu.sh uses it) with --allow-software (accept a fallback adapter: smoke tests).
// The server is cross-origin isolated so that wllama and onnxruntime-web may start threads.
// minilm's transformers.js rows are skipped, with the reason in the report, when the ONNX twin
// (scripts/bench/fetch-onnx-twin.sh) is missing. Exits non-zero when the bench itself breaks, and
// in --smoke when webslm fails or reports impossible counts.
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../serve.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// ../../../shared/PLATFORM.md: WebGPU needs --enable-unsafe-webgpu (SwiftShader); the rest keep
// Chromium off the closed network.
const FLAGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
// A real GPU in headless Chromium: the new headless mode keeps the GPU process, Vulkan (Linux) is
// Dawn's backend there, and the blocklist would otherwise turn many server GPUs down.
const REAL_GPU_FLAGS = ['--headless=new', '--use-angle=vulkan', '--enable-features=Vulkan', '--ignore-gpu-blocklist'];

function options() {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'smollm2' },
      runs: { type: 'string', default: '3' },
      'prompt-tokens': { type: 'string', default: '32' },
      'decode-tokens': { type: 'string', default: '32' },
      threads: { type: 'string', default: '1,2' },
      sentences: { type: 'string', default: '64' },
      'batch-sizes': { type: 'string', default: '1,8' },
      out: { type: 'string' },
      'timeout-min': { type: 'string', default: '90' },
      smoke: { type: 'boolean', default: false },
      kernels: { type: 'string', default: 'auto' },
      'real-gpu': { type: 'boolean', default: false },
      'allow-software': { type: 'boolean', default: false },
    },
  });
  const int = (name, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, not ${value}`);
    return n;
  };
  const smoke = values.smoke;
  const date = new Date().toISOString().slice(0, 10);
  return {
    smoke,
    models: (smoke ? 'smollm2' : values.models).split(',').filter(Boolean),
    runs: smoke ? 1 : int('runs', values.runs),
    promptTokens: smoke ? 8 : int('prompt-tokens', values['prompt-tokens']),
    decodeTokens: smoke ? 4 : int('decode-tokens', values['decode-tokens']),
    wllamaThreads: smoke ? [1] : values.threads.split(',').map((t) => int('threads', t)),
    sentences: int('sentences', values.sentences),
    batchSizes: values['batch-sizes'].split(',').map((b) => int('batch-sizes', b)),
    out: values.out ?? join(ROOT, 'bench', 'results', `browser-${date}.json`),
    timeoutMs: int('timeout-min', values['timeout-min']) * 60_000,
    kernels: kernelPath(values.kernels),
    realGpu: values['real-gpu'],
    allowSoftware: values['allow-software'],
  };
}

function kernelPath(value) {
  if (!['auto', 'software', 'gpu'].includes(value)) throw new Error(`--kernels must be auto, software or gpu, not ${value}`);
  return value;
}

/** `id` or `id:N` -> the page's model entry, with N decode tokens for it when given. */
function pickModels(names, known) {
  return names.map((name) => {
    const [id, tokens] = name.split(':');
    const model = known.find((m) => m.id === id);
    if (!model) throw new Error(`unknown model ${id} (known: ${known.map((m) => m.id).join(', ')})`);
    return withSkips(tokens ? { ...model, decodeTokens: Number(tokens) } : model);
  });
}

/**
 * An embedding model whose files are missing here is recorded as skipped, with the reason, rather
 * than failing the run: the fp32 folder (scripts/fetch-models.sh) for all its rows, the ONNX twin
 * (scripts/bench/fetch-onnx-twin.sh, bench-only) for the transformers.js rows.
 */
function withSkips(model) {
  if (model.task !== 'feature-extraction') return model;
  const missing = (url) => !existsSync(join(ROOT, url));
  const needed = [model.url, model.configUrl, model.tokenizerUrl].filter(missing);
  if (needed.length) return { ...model, skip: `${needed.join(', ')} missing: run scripts/fetch-models.sh all-minilm-l6-v2` };
  const onnx = `/models/${model.onnx.folder}/${model.onnx.file}`;
  if (missing(onnx)) return { ...model, skipTransformers: `${onnx.slice(1)} is missing: run scripts/bench/fetch-onnx-twin.sh` };
  const tjs = '/bench/js/node_modules/@huggingface/transformers/dist/transformers.min.js';
  if (missing(tjs)) return { ...model, skipTransformers: `${tjs.slice(1)} is missing: run scripts/bench/fetch-onnx-twin.sh` };
  return model;
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return null; // not a git checkout: the report just lacks the commit
  }
}

const fmt = (x, digits = 3) => (x == null ? '–' : Number(x).toFixed(digits));
const engineName = (r) => (r.engine === 'webslm' ? `webslm ${r.backend ?? ''}`.trim() : `${r.engine}${r.threads ? ` ${r.threads}t` : ''}`);
const isEmbedding = (r) => r.task === 'feature-extraction';
const speedAt = (r, size) => r.batches?.find((b) => b.batch_size === size)?.median_sentences_per_s;

/** A text table: the first two columns left-aligned; a row of 3 cells is an error or skip line. */
function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length > 3).map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map((r) => (r.length > 3 ? line(r) : `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`))];
}

/** The embedding rows as a text table, then webslm/transformers.js ratios per model. */
function embeddingSummary(results, sizes) {
  const head = ['engine', 'model', 'cold load s', 'warm load s', ...sizes.map((b) => `sent/s b${b}`), 'cosine vs webslm'];
  const rows = results.map((r) => (r.error || r.skipped
    ? [engineName(r), r.model, `${r.error ? 'ERROR' : 'skipped'}: ${r.error ?? r.skipped}`]
    : [engineName(r), r.model, fmt(r.cold_load_s, 2), fmt(r.warm_load_s, 2), ...sizes.map((b) => fmt(speedAt(r, b), 2)),
      r.cosine_vs_webslm ? `${fmt(r.cosine_vs_webslm.mean, 4)} (min ${fmt(r.cosine_vs_webslm.min, 4)})` : '–']));
  const lines = ['', ...table(head, rows), '', 'webslm / transformers.js (sentences/s: >1 means webslm is faster; load: <1 means webslm is faster)'];
  const ok = (r) => r && !r.error && !r.skipped;
  const ratio = (a, b) => (a != null && b ? (a / b).toFixed(2) : '–');
  for (const model of new Set(results.map((r) => r.model))) {
    const ours = results.find((r) => r.model === model && r.engine === 'webslm');
    for (const peer of results.filter((r) => r.model === model && r.engine !== 'webslm' && ok(r))) {
      if (!ok(ours)) continue;
      lines.push(`  ${model} vs ${engineName(peer)}: ${sizes.map((b) => `batch ${b} ${ratio(speedAt(ours, b), speedAt(peer, b))}x`).join(', ')}, `
        + `cold load ${ratio(ours.cold_load_s, peer.cold_load_s)}x, warm load ${ratio(ours.warm_load_s, peer.warm_load_s)}x`);
    }
  }
  return lines;
}

/** The rows as a text table, then webslm/wllama ratios per model; the embedding rows after them. */
function summary(report) {
  const lines = [];
  const head = ['engine', 'model', 'cold load s', 'warm load s', 'TTFT s', 'prompt tok', 'decode tok', 'decode tok/s'];
  const decoders = report.results.filter((r) => !isEmbedding(r));
  const embedders = report.results.filter(isEmbedding);
  const rows = decoders.map((r) => (r.error || r.skipped
    ? [engineName(r), r.model, `${r.error ? 'ERROR' : 'skipped'}: ${r.error ?? r.skipped}`]
    : [engineName(r), r.model, fmt(r.cold_load_s, 2), fmt(r.warm_load_s, 2), fmt(r.median_ttft_s),
      String(r.runs[0]?.prompt_tokens ?? '–'), String(r.runs[0]?.completion_tokens ?? '–'), fmt(r.median_decode_tok_s, 2)]));
  if (rows.length) {
    lines.push(...table(head, rows));
    lines.push('', 'webslm / wllama (decode: >1 means webslm is faster; TTFT and load: <1 means webslm is faster)');
  }
  const ok = (r) => r && !r.error && !r.skipped;
  const ratio = (a, b) => (a != null && b ? (a / b).toFixed(2) : '–');
  for (const model of new Set(decoders.map((r) => r.model))) {
    const ours = decoders.find((r) => r.model === model && r.engine === 'webslm');
    for (const peer of decoders.filter((r) => r.model === model && r.engine === 'wllama' && ok(r))) {
      if (!ok(ours)) continue;
      lines.push(`  ${model} vs ${engineName(peer)}: decode ${ratio(ours.median_decode_tok_s, peer.median_decode_tok_s)}x, `
        + `TTFT ${ratio(ours.median_ttft_s, peer.median_ttft_s)}x, cold load ${ratio(ours.cold_load_s, peer.cold_load_s)}x, `
        + `warm load ${ratio(ours.warm_load_s, peer.warm_load_s)}x`);
    }
  }
  if (embedders.length) lines.push(...embeddingSummary(embedders, report.config.batchSizes));
  lines.push('', `transformers.js: ${report.transformers_js}`);
  return lines.join('\n');
}

/** Why webslm's rows say the bench is broken (for --smoke), or [] when they look sound. */
function webslmProblems(report, cfg) {
  const problems = [];
  for (const r of report.results.filter((x) => x.engine === 'webslm')) {
    if (isEmbedding(r)) {
      if (r.error) problems.push(`webslm ${r.model}: ${r.error}`);
      else if (!r.skipped && !r.batches?.every((b) => b.runs.length === cfg.runs && b.median_sentences_per_s > 0)) {
        problems.push(`webslm ${r.model}: not every batch size has ${cfg.runs} timed runs`);
      }
      continue;
    }
    if (r.error) problems.push(`webslm ${r.model}: ${r.error}`);
    else if (r.runs.length !== cfg.runs) problems.push(`webslm ${r.model}: ${r.runs.length} of ${cfg.runs} runs`);
    for (const run of r.runs ?? []) {
      if (run.prompt_tokens !== cfg.promptTokens) problems.push(`webslm ${r.model}: ${run.prompt_tokens} prompt tokens, not ${cfg.promptTokens}`);
      if (run.completion_tokens !== cfg.decodeTokens) problems.push(`webslm ${r.model}: ${run.completion_tokens} tokens generated, not ${cfg.decodeTokens}`);
      if (!(run.decode_tok_s > 0) || !(run.ttft_s > 0)) problems.push(`webslm ${r.model}: no speed measured`);
    }
  }
  return problems;
}

async function main() {
  const cfg = options();
  const started = Date.now();
  // Other work on this small machine (2 cores) slows both engines: the report keeps the load.
  const loadBefore = loadavg();
  const server = await startServer(ROOT, 0, { isolated: true });
  const args = cfg.realGpu ? [...FLAGS, ...REAL_GPU_FLAGS] : FLAGS;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args });
  try {
    const context = await browser.newContext(); // a fresh profile: empty Cache API and OPFS
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.text().startsWith('[bench]') || m.type() === 'error') console.log(`[page] ${m.text()}`);
    });
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.goto(`${server.origin}/www/bench.html`);
    await page.waitForFunction(() => window.benchReady === true);
    if (cfg.realGpu) {
      const adapter = await page.evaluate(async () => {
        const a = await navigator.gpu?.requestAdapter();
        return a ? { fallback: a.info?.isFallbackAdapter ?? a.isFallbackAdapter, architecture: a.info?.architecture, vendor: a.info?.vendor } : null;
      });
      const software = !adapter || adapter.fallback || adapter.architecture === 'swiftshader';
      if (software && !cfg.allowSoftware) {
        throw new Error(`--real-gpu: Chromium's WebGPU adapter is ${adapter ? JSON.stringify(adapter) : 'missing'}, not a hardware GPU`);
      }
    }
    const models = pickModels(cfg.models, await page.evaluate(() => window.benchModels));
    const config = {
      kernels: cfg.kernels,
      models, runs: cfg.runs, promptTokens: cfg.promptTokens, decodeTokens: cfg.decodeTokens, wllamaThreads: cfg.wllamaThreads,
      sentences: cfg.sentences, batchSizes: cfg.batchSizes, transformersThreads: cfg.wllamaThreads,
    };

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the bench took over ${cfg.timeoutMs / 60_000} minutes (--timeout-min)`)), cfg.timeoutMs);
    });
    const report = await Promise.race([page.evaluate((c) => window.runBench(c), config), timeout]).finally(() => clearTimeout(timer));
    report.runner = {
      command: `node ${relative(ROOT, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`.trim(),
      commit: gitCommit(), chromium: browser.version(), smoke: cfg.smoke, wall_s: Math.round((Date.now() - started) / 1000),
      loadavg_before: loadBefore.map((x) => Number(x.toFixed(2))), loadavg_after: loadavg().map((x) => Number(x.toFixed(2))),
    };
    mkdirSync(dirname(cfg.out), { recursive: true });
    writeFileSync(cfg.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\n${summary(report)}\n\nadapter: ${JSON.stringify(report.adapter)}; crossOriginIsolated: ${report.crossOriginIsolated}; `
      + `${report.hardwareConcurrency} cores; ${report.runner.wall_s} s in all\nwrote ${relative(process.cwd(), cfg.out)}`);
    if (cfg.smoke) {
      const problems = webslmProblems(report, cfg);
      if (problems.length) {
        console.error(`smoke failed:\n  ${problems.join('\n  ')}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => {
  console.error(`browser bench failed: ${e.message}`);
  process.exitCode = 1;
});
