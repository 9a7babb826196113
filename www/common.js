// Shared by the demos: the model list (local files and the catalogue), loading with a progress
// bar and cache controls, the WebGPU check, and a small safe markdown renderer.
import { catalogue, checkSupport, createEngine, hasModelInCache, deleteModelFromCache, resolveModel } from '/pkg/webslm.js';

/**
 * What loading a catalogue entry downloads by default, in bytes: the sizes of its `files`. The one
 * place the demos read catalogue sizes, so a change of the catalogue's layout is one edit here.
 */
export function catalogueBytes(entry) {
  const files = entry.files ?? [];
  // An unverified entry may lack a size: say so rather than show a partial sum.
  if (files.some((f) => typeof f.size !== 'number')) return undefined;
  return files.reduce((sum, f) => sum + f.size, 0);
}

/** Whether the browser package can load a catalogue entry (sharded checkpoints cannot yet). */
function loadable(id) {
  try {
    resolveModel(id);
    return true;
  } catch {
    return false;
  }
}

/** Local models first, then the catalogue, filtered by task. Each: { id, name, task, spec, bytes }. */
export async function modelsFor(tasks) {
  const local = await (await fetch('/www/local-models.json')).json();
  const hub = catalogue.models
    .filter((m) => loadable(m.id))
    .map((m) => ({ id: m.id, name: `${m.name} (hub download)`, task: m.task, spec: m.id, bytes: catalogueBytes(m) }));
  return { local: local.models.filter((m) => tasks.includes(m.task)), hub: hub.filter((m) => tasks.includes(m.task)) };
}

/** Whether this server has a file (the models/ folder exists where scripts/fetch-models.sh ran). */
export async function served(url) {
  return fetch(url, { method: 'HEAD' }).then((r) => r.ok).catch(() => false);
}

/** Fills a <select> with groups of models; `extra` groups ([label, models]) come first. */
export function fillPicker(select, { local, hub }, selectedId, extra = []) {
  select.replaceChildren();
  for (const [label, list] of [...extra, ['On this machine', local], ['Catalogue (downloads from the Hugging Face hub)', hub]]) {
    if (!list.length) continue;
    const group = document.createElement('optgroup');
    group.label = label;
    for (const m of list) group.append(new Option(m.bytes ? `${m.name} · ${fmtBytes(m.bytes)}` : `${m.name} · size not verified`, m.id, false, m.id === selectedId));
    select.append(group);
  }
}

const fmtBytes = (n) => (n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`);

/**
 * Loads `model` and shows progress in `ui` ({ progress, status, cacheStatus, deleteButton }).
 * Returns the engine, or null after showing why it cannot run here.
 */
export async function loadWithProgress(model, ui, options = {}) {
  const support = await checkSupport(model.spec).catch((e) => ({ ok: false, reasons: [e.message] }));
  if (!support.ok) {
    // No WebGPU (or no adapter) is the browser's problem: say so instead of the page. Anything
    // else (an unreachable or gated model, too large for this GPU) is this model's problem.
    if (!support.adapter) showUnsupported(support.reasons);
    else ui.status.textContent = `${model.name} cannot run here: ${support.reasons.join('; ')}`;
    return null;
  }
  ui.status.textContent = `Loading ${model.name}…`;
  ui.progress.hidden = false;
  ui.progress.value = 0;
  const engine = await createEngine(model.spec, {
    ...options,
    onProgress: ({ loaded, total, bytesPerSecond }) => {
      ui.progress.max = total;
      ui.progress.value = loaded;
      const eta = bytesPerSecond > 0 ? Math.max(0, (total - loaded) / bytesPerSecond) : 0;
      ui.status.textContent = `${fmtBytes(loaded)} / ${fmtBytes(total)} · ${fmtBytes(bytesPerSecond)}/s · ETA ${eta.toFixed(0)} s`;
    },
  });
  ui.progress.hidden = true;
  const info = engine.loadInfo ?? {};
  ui.status.textContent = `${model.name} ready (${info.fromCache ? 'from the cache' : 'downloaded'} in ${(info.totalSeconds ?? 0).toFixed(1)} s)`;
  await showCache(model, ui);
  return engine;
}

export async function showCache(model, ui) {
  if (!ui.cacheStatus) return;
  const cached = await hasModelInCache(model.spec).catch(() => false);
  ui.cacheStatus.textContent = cached ? 'Cached in this browser' : 'Not cached';
  ui.deleteButton.disabled = !cached;
  ui.deleteButton.onclick = async () => {
    await deleteModelFromCache(model.spec);
    await showCache(model, ui);
  };
}

/** Replaces the page's main content with what is missing (never a blank page). */
export function showUnsupported(reasons) {
  const main = document.querySelector('main');
  const box = document.createElement('section');
  box.className = 'unsupported';
  box.setAttribute('role', 'alert');
  box.innerHTML = '<h2>This browser cannot run the model</h2><ul></ul><p>webslm needs WebGPU: a recent Chrome or Edge, Safari 26, or Firefox with WebGPU enabled.</p>';
  for (const r of reasons) box.querySelector('ul').append(Object.assign(document.createElement('li'), { textContent: r }));
  main.replaceChildren(box);
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** Markdown subset for replies: fenced code, inline code, bold, italics, lists, paragraphs. */
export function renderMarkdown(text) {
  const out = [];
  const parts = text.split(/```(\w*)\n?([\s\S]*?)(?:```|$)/);
  for (let i = 0; i < parts.length; i += 3) {
    const prose = parts[i];
    if (prose.trim()) out.push(renderProse(prose));
    if (i + 2 < parts.length) out.push(`<pre><code class="lang-${escapeHtml(parts[i + 1] || 'text')}">${escapeHtml(parts[i + 2])}</code></pre>`);
  }
  return out.join('');
}

function renderProse(text) {
  const inline = (s) => escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|\W)\*([^*]+)\*(?=\W|$)/g, '$1<em>$2</em>');
  return text.trim().split(/\n{2,}/).map((block) => {
    const lines = block.split('\n');
    if (lines.every((l) => /^\s*([-*]|\d+\.)\s+/.test(l))) {
      const tag = /^\s*\d+\./.test(lines[0]) ? 'ol' : 'ul';
      return `<${tag}>${lines.map((l) => `<li>${inline(l.replace(/^\s*([-*]|\d+\.)\s+/, ''))}</li>`).join('')}</${tag}>`;
    }
    return `<p>${lines.map(inline).join('<br>')}</p>`;
  }).join('');
}
