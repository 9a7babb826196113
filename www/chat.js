// The chat demo: streaming multi-turn chat with the model's chat template, stop, TTFT and tok/s.
import { modelsFor, fillPicker, loadWithProgress, renderMarkdown, showCache } from '/www/common.js';

const $ = (id) => document.getElementById(id);
const ui = { progress: $('progress'), status: $('status'), cacheStatus: $('cache'), deleteButton: $('delete') };
const DEFAULT = 'local:smollm2-135m-instruct';
let engine = null;
let models = null;
let history = [];
let generating = false;

function allModels() {
  return [...models.local, ...models.hub];
}

async function load() {
  const model = allModels().find((m) => m.id === $('model').value);
  $('load').disabled = true;
  setReady(false);
  try {
    await engine?.unload();
    engine = null;
    engine = await loadWithProgress(model, ui);
    if (engine) setReady(true);
  } catch (e) {
    ui.status.textContent = `Could not load ${model?.name ?? 'the model'}: ${e.name}: ${e.message}`;
    ui.progress.hidden = true;
  } finally {
    $('load').disabled = false;
  }
}

function setReady(on) {
  $('input').disabled = !on;
  $('send').disabled = !on;
  if (on) $('input').focus();
}

function bubble(role, html) {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  div.innerHTML = html;
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function send(text) {
  if (!engine || generating || !text.trim()) return;
  generating = true;
  $('send').disabled = true;
  $('stop').disabled = false;
  history.push({ role: 'user', content: text });
  const user = bubble('user', '');
  user.textContent = text;
  const reply = bubble('assistant', '<span class="status">…</span>');
  reply.setAttribute('aria-busy', 'true');
  // An empty system prompt leaves the template's default (SmolLM2 and Qwen have their own).
  const system = $('system').value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...history] : [...history];
  const num = (id) => Number($(id).value);
  const started = performance.now();
  let first = 0;
  let text2 = '';
  let usage = null;
  let finish = '';
  try {
    const stream = await engine.chat.completions.create({
      messages, stream: true, temperature: num('temperature'), top_p: num('top_p'), max_tokens: num('max_tokens'), seed: num('seed'),
    });
    for await (const chunk of stream) {
      const piece = chunk.choices[0].delta.content ?? '';
      if (piece && !first) first = performance.now();
      text2 += piece;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
      reply.innerHTML = renderMarkdown(text2) || '<span class="status">…</span>';
    }
    if (history.at(-1)?.content === text) history.push({ role: 'assistant', content: text2 });
    const secs = (performance.now() - (first || started)) / 1000;
    const tokens = usage?.completion_tokens ?? 0;
    $('stats').textContent = `time to first token ${((first || performance.now()) - started).toFixed(0)} ms · ${tokens} tokens · ${(tokens / Math.max(secs, 1e-3)).toFixed(1)} tok/s${finish === 'abort' ? ' · stopped' : ''}`;
    reply.dataset.finish = finish;
  } catch (e) {
    reply.textContent = `${e.name}: ${e.message}`;
    history.pop();
  } finally {
    reply.removeAttribute('aria-busy');
    generating = false;
    $('send').disabled = false;
    $('stop').disabled = true;
  }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('input').value;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').addEventListener('click', () => engine?.interrupt());
$('clear').addEventListener('click', () => {
  if (generating) engine?.interrupt(); // the reply in progress must not land in the new chat
  history = [];
  $('messages').replaceChildren();
  $('stats').textContent = '';
});
$('load').addEventListener('click', load);
$('model').addEventListener('change', () => showCache(allModels().find((m) => m.id === $('model').value), ui));

// Load stays disabled (chat.html) until the first load() below ends: a click before the list was
// in threw (no models yet), and one while the cache status was read started a second load.
try {
  models = await modelsFor(['text-generation']);
  fillPicker($('model'), models, DEFAULT);
  const first = allModels().find((m) => m.id === $('model').value);
  if (first) {
    await showCache(first, ui);
    load();
  }
} catch (e) {
  ui.status.textContent = `The model list did not load: ${e.message}`;
}
