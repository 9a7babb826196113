// A stand-in for pkg/generated/webslm_wasm.js with src/web.rs's contract: a WeightLoader that
// hashes what it is pushed, a decoder whose generate() stops when on_text returns false
// (finish_reason 'abort', as StopReason::Cancelled maps in web.rs), and a text model whose calls
// take `state.analysisMs`. Tests steer it through `state`.
import { createHash } from 'node:crypto';

export const state = {
  /** Milliseconds each generated token and each analysis call takes. */
  tokenMs: 2,
  analysisMs: 0,
  /** The options the last generate() received. */
  lastParams: null,
  generateCalls: 0,
  /** The seed of every generate() call, in order. */
  seeds: [],
  analysisCalls: 0,
  /** When set, the next tokenize() throws it (an error from the Rust side). */
  tokenizeThrows: null,
  /** Decoders built (a recovery after a device loss builds one more). */
  decodersBuilt: 0,
  /** The `kernels` argument the last adapterInfo() or WeightLoader.create() received. */
  lastKernels: 'unset',
  /** LoRA adapters attached, as (format, weight bytes, config bytes), in order; and unloaded ids. */
  adaptersLoaded: [],
  adaptersUnloaded: [],
  /** The adapters each analysis call ran with (WebTextModel.setAdapters before it), in order. */
  textAdapters: [],
};

/** src/web.rs's `gpu_options` and `Kernels`: the stub adapter is a software one. */
function kernelChoice(kernels) {
  if (kernels === undefined || kernels === 'auto')
    return { path: 'software', reason: 'stub is a software adapter (a CPU emulating a GPU)' };
  if (kernels === 'software' || kernels === 'gpu') return { path: kernels, reason: 'requested by the caller' };
  throw Object.assign(new Error(`unknown kernel path ${JSON.stringify(kernels)}: expected auto, software or gpu`), {
    name: 'GpuError',
  });
}

/** web.rs's DeviceLost error, as a lost device makes every call fail. */
const deviceLost = () => Object.assign(new Error('the GPU device was lost (stub)'), { name: 'DeviceLost' });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export default async function init() {
  return { memory: { buffer: { byteLength: 1 << 20 } } };
}

export async function adapterInfo(kernels) {
  state.lastKernels = kernels;
  return {
    kernels: kernelChoice(kernels),
    adapter: 'stub',
    backend: 'none',
    software: true,
    shader_f16: false,
    max_storage_binding: 1 << 27,
    max_buffer_size: 1 << 28,
  };
}

/** The stub's "header" is the first 16 bytes. */
export function headerBytesNeeded(_format, _head, total) {
  return Math.min(16, total);
}

export function headerSummary(_format, _head, total) {
  return { architecture: 'stub', weight_bytes: total, largest_tensor: total, kv_bytes_per_token: 1 };
}

export class WeightLoader {
  static async create(_format, _head, total, kernels) {
    state.lastKernels = kernels;
    return new WeightLoader(total, kernelChoice(kernels));
  }
  constructor(total, kernels) {
    this.total = total;
    this.choice = kernels;
    this.got = 0;
    this.hash = createHash('sha256');
  }
  push(bytes) {
    this.got += bytes.length;
    this.hash.update(bytes);
  }
  largestTensor() {
    return this.total;
  }
  kernels() {
    return this.choice;
  }
  sha256() {
    return this.hash.copy().digest('hex');
  }
  intoDecoder() {
    if (this.got !== this.total)
      throw Object.assign(new Error('the weight file has not been fully received'), { name: 'ModelError' });
    state.decodersBuilt += 1;
    return new StubDecoder();
  }
  intoTextModel() {
    if (this.got !== this.total)
      throw Object.assign(new Error('the weight file has not been fully received'), { name: 'ModelError' });
    return new StubTextModel();
  }
  free() {}
}

class StubDecoder {
  /** Set by deviceHandle().destroy(): every later call fails with DeviceLost. */
  lost = false;
  tokenize(text) {
    if (this.lost) throw deviceLost();
    if (state.tokenizeThrows) {
      const e = state.tokenizeThrows;
      state.tokenizeThrows = null;
      throw e;
    }
    return Uint32Array.from([...text].map((c) => c.charCodeAt(0)));
  }
  chatPrompt(messages) {
    return messages.map((m) => m.content).join('\n');
  }
  async generate(ids, params, onText) {
    state.generateCalls += 1;
    state.lastParams = params;
    state.seeds.push(params.seed);
    const pieces = [];
    const content = [];
    let finish = 'length';
    for (let i = 0; i < params.max_tokens; i++) {
      await sleep(state.tokenMs);
      if (this.lost) throw deviceLost();
      pieces.push(`t${i} `);
      // web.rs: with logprobs, each piece comes with the entries of its tokens.
      const entry = { token: `t${i} `, logprob: -i, bytes: [...`t${i} `].map((c) => c.charCodeAt(0)), top_logprobs: [] };
      if (params.logprobs) content.push(entry);
      if (onText.call(null, `t${i} `, params.logprobs ? [entry] : undefined) === false) {
        finish = 'abort';
        break;
      }
    }
    return {
      logprobs: params.logprobs ? { content } : null,
      text: pieces.join(''),
      ids: pieces.map((_, i) => i),
      prompt_tokens: ids.length,
      finish_reason: finish,
      prefill_secs: 0,
      decode_secs: 0,
    };
  }
  reset() {
    if (this.lost) throw deviceLost();
  }
  /** src/web.rs loadAdapter: ids count up per engine; a format it does not know is an AdapterError. */
  nextAdapter = 0;
  loadAdapter(format, weights, config) {
    if (this.lost) throw deviceLost();
    if (format !== 'gguf' && format !== 'peft')
      throw Object.assign(new Error(`unknown adapter format ${format}`), { name: 'AdapterError' });
    state.adaptersLoaded.push({ format, weights: weights.length, config: config?.length });
    return { id: this.nextAdapter++, gpu_bytes: weights.length };
  }
  unloadAdapter(id) {
    state.adaptersUnloaded.push(id);
  }
  isLost() {
    return this.lost;
  }
  deviceHandle() {
    return {
      destroy: () => {
        this.lost = true;
      },
      free() {},
    };
  }
  free() {}
}

class StubTextModel {
  nextAdapter = 0;
  active = [];
  loadAdapter(format, weights, config) {
    state.adaptersLoaded.push({ format, weights: weights.length, config: config?.length });
    return { id: this.nextAdapter++, gpu_bytes: weights.length };
  }
  unloadAdapter(id) {
    state.adaptersUnloaded.push(id);
  }
  /** src/web.rs setAdapters: the adapters the following calls run with. */
  setAdapters(active) {
    this.active = active;
  }
  async embed(texts) {
    state.analysisCalls += 1;
    state.textAdapters.push(this.active);
    await sleep(state.analysisMs);
    return texts.map(() => [1, 0, 0]);
  }
  async classify(texts) {
    state.analysisCalls += 1;
    state.textAdapters.push(this.active);
    await sleep(state.analysisMs);
    return texts.map(() => [{ label: 'POSITIVE', score: 1 }]);
  }
  async ner(texts) {
    state.analysisCalls += 1;
    state.textAdapters.push(this.active);
    await sleep(state.analysisMs);
    return texts.map(() => []);
  }
  async qa() {
    state.analysisCalls += 1;
    state.textAdapters.push(this.active);
    await sleep(state.analysisMs);
    return [{ answer: 'x', score: 1, start: 0, end: 1 }];
  }
  free() {}
}
