// checkSupport: whether this browser can run a model, from its header alone (the weights stay
// on the server).

import { fileSize, readPrefix } from './download.js';
import { checkKernels } from './engine.js';
import { catalogueSizes, resolveModel } from './models.js';
import { adapterInfo, headerBytesNeeded, headerSummary, wasm } from './wasm.js';

const mib = (/** @type {number} */ bytes) => Math.round(bytes / 2 ** 20);

/**
 * The weight file's header summary, read with one or two Range requests.
 * @param {import('./webslm.js').ResolvedModel} resolved
 * @param {AbortSignal} [signal]
 */
async function readHeader(resolved, signal) {
  const file = resolved.weights;
  const total = await fileSize(file, signal);
  let want = Math.min(total, 1 << 20);
  for (;;) {
    const prefix = await readPrefix(file.url, want, signal);
    const needed = headerBytesNeeded(resolved.format, prefix, total);
    if (needed <= prefix.length) return headerSummary(resolved.format, prefix, total);
    // The parser asks for the next bytes it lacks, not the whole header: grow geometrically.
    want = Math.min(total, Math.max(needed, want * 2));
  }
}

/**
 * Whether this browser can run `model`, before any weight is downloaded: `{ ok, reasons,
 * adapter, kernels, estimate }`; `kernels` is `{ path, reason }`, the kernel path the adapter
 * gets (with the `kernels` option as createEngine would take it) and why. Checks WebGPU, the adapter's buffer limits against the largest tensor,
 * and the memory the weights plus the KV cache need (`contextLength`, default 2048). For a
 * catalogue id (`variant` and `hubUrl` as createEngine takes them), `catalogue` lists every
 * variant's download bytes and GPU memory, whatever the outcome. An aborted check rejects with
 * AbortError; every other failure is a reason.
 * @type {typeof import('./webslm.js').checkSupport}
 */
export async function checkSupport(model, { contextLength = 2048, signal, variant, hubUrl, kernels } = {}) {
  checkKernels(kernels);
  /** @type {string[]} */
  const reasons = [];
  const resolved = resolveModel(model, { variant, hubUrl });
  const catalogue = catalogueSizes(model, resolved.variant);
  if (typeof navigator === 'undefined' || !(/** @type {any} */ (navigator).gpu)) {
    return { ok: false, reasons: ['WebGPU is not available in this browser (navigator.gpu is missing)'], catalogue };
  }
  await wasm();
  let adapter;
  try {
    adapter = await adapterInfo(kernels);
  } catch (e) {
    return { ok: false, reasons: [/** @type {Error} */ (e).message], catalogue };
  }
  let header;
  try {
    header = await readHeader(resolved, signal);
  } catch (e) {
    if (/** @type {Error} */ (e).name === 'AbortError') throw e;
    return { ok: false, reasons: [/** @type {Error} */ (e).message], adapter, kernels: adapter.kernels, catalogue };
  }
  // Tensors larger than one binding are split by rows, but each part is its own buffer.
  if (header.largest_tensor > adapter.max_buffer_size) {
    reasons.push(
      `its largest tensor (${mib(header.largest_tensor)} MiB) exceeds this GPU's largest buffer (${mib(adapter.max_buffer_size)} MiB)`,
    );
  }
  const kv = (header.kv_bytes_per_token ?? 0) * contextLength;
  /** @type {{ weightBytes: number, kvCacheBytes: number, totalBytes: number, note?: string }} */
  const estimate = { weightBytes: header.weight_bytes, kvCacheBytes: kv, totalBytes: header.weight_bytes + kv };
  if (!adapter.shader_f16) estimate.note = 'no shader-f16: f16 weights are unpacked in the shaders (slower, same results)';
  return {
    ok: reasons.length === 0,
    reasons,
    adapter,
    kernels: adapter.kernels,
    estimate,
    architecture: header.architecture,
    catalogue,
  };
}
