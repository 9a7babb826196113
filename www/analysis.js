// The text-analysis demo: sentiment, entities plus pattern-matched personal data (e-mail
// addresses, phone numbers), semantic search with sentence embeddings, and extractive QA.
import { modelsFor, fillPicker, loadWithProgress } from '/www/common.js';

const $ = (id) => document.getElementById(id);
const ui = { progress: $('progress'), status: $('status') };
const TASKS = {
  sentiment: ['text-classification', 'local:tiny-sentiment'],
  ner: ['token-classification', 'local:tiny-ner'],
  embed: ['feature-extraction', 'local:all-minilm-l6-v2'],
  qa: ['question-answering', 'local:tiny-qa'],
};
const lists = {};
const engines = {};

/** Personal data a pattern finds reliably, whatever the NER model says. */
const PATTERNS = [
  ['EMAIL', /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g],
  ['PHONE', /\+?\d[\d ().-]{7,}\d/g],
];

function paragraphs() {
  return $('text').value.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
}

async function engine(task) {
  await listsReady;
  const id = $(`m-${task}`).value;
  if (engines[task]?.id === id) return engines[task].engine;
  const model = [...lists[task].local, ...lists[task].hub].find((m) => m.id === id);
  const e = await loadWithProgress(model, ui);
  if (!e) throw new Error('unsupported');
  engines[task] = { id, engine: e };
  return e;
}

/** `text` with [start, end) spans wrapped in <mark class=label>; spans are character offsets. */
function highlight(text, spans) {
  const chars = [...text];
  const sorted = spans.slice().sort((a, b) => a.start - b.start || b.end - a.end);
  const out = [];
  let at = 0;
  // Labels come from the model's config (id2label) and text from the user: escape everything.
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  for (const s of sorted) {
    if (s.start < at) continue;
    const cls = String(s.kind).replace(/[^\w-]/g, '');
    const title = `${s.label} ${s.score === undefined ? '' : s.score.toFixed(2)}`;
    out.push(esc(chars.slice(at, s.start).join('')));
    out.push(`<mark class="${cls}" title="${esc(title)}">${esc(chars.slice(s.start, s.end).join(''))}<small> ${esc(s.label)}</small></mark>`);
    at = s.end;
  }
  out.push(esc(chars.slice(at).join('')));
  return out.join('').replace(/\n/g, '<br>');
}

async function analyse() {
  $('analyse').disabled = true;
  try {
    const text = $('text').value;
    const spans = [];
    for (const [label, re] of PATTERNS) {
      for (const m of text.matchAll(re)) {
        const start = [...text.slice(0, m.index)].length;
        spans.push({ start, end: start + [...m[0]].length, label, kind: 'PII' });
      }
    }
    const ner = await engine('ner');
    const [entities] = await ner.ner(text, 'first');
    for (const e of entities) spans.push({ ...e, kind: e.label });
    $('highlighted').innerHTML = highlight(text, spans);
    const sentiment = await engine('sentiment');
    const paras = paragraphs();
    const scores = await sentiment.classify(paras);
    $('sentiment').replaceChildren(...paras.map((p, i) => {
      const li = document.createElement('li');
      li.textContent = `${scores[i][0].label} (${scores[i][0].score.toFixed(2)}): ${p.slice(0, 80)}${p.length > 80 ? '…' : ''}`;
      return li;
    }));
    ui.status.textContent = `Found ${spans.length} entities and personal data items in ${paras.length} paragraphs.`;
  } catch (e) {
    if (e.message !== 'unsupported') ui.status.textContent = `${e.name}: ${e.message}`;
  } finally {
    $('analyse').disabled = false;
  }
}

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

async function search(e) {
  e.preventDefault();
  const paras = paragraphs();
  const embed = await engine('embed');
  const { data } = await embed.embeddings.create({ input: [$('query').value, ...paras] });
  const [q, ...docs] = data.map((d) => d.embedding);
  const ranked = docs.map((d, i) => ({ i, score: dot(q, d) })).sort((a, b) => b.score - a.score);
  $('hits').replaceChildren(...ranked.map(({ i, score }) => Object.assign(document.createElement('li'), { textContent: `${score.toFixed(3)}: ${paras[i]}` })));
}

async function ask(e) {
  e.preventDefault();
  const qa = await engine('qa');
  const [best] = await qa.qa($('question').value, $('text').value, 1);
  $('answer').textContent = best ? `${best.answer} (score ${best.score.toFixed(3)}, characters ${best.start}-${best.end})` : 'No answer found.';
}

/** Fills the pickers; the engine getter awaits this, so it is only ever read once filled. */
async function loadLists() {
  try {
    for (const [task, [kind, def]] of Object.entries(TASKS)) {
      lists[task] = await modelsFor([kind]);
      fillPicker($(`m-${task}`), lists[task], def);
    }
  } catch (e) {
    ui.status.textContent = `The model list did not load: ${e.message}`;
    throw new Error(`the model list did not load: ${e.message}`);
  }
}

// The listeners go on before anything is awaited: on a slow machine (or a slow server) a click
// that comes before the model list used to land on a button with no listener yet and was lost,
// so nothing ever ran. Now such a click waits for the list inside engine().
const listsReady = loadLists();
listsReady.catch(() => {}); // shown in the status line; the actions that need the list rethrow it
$('analyse').addEventListener('click', analyse);
$('search-form').addEventListener('submit', (e) => search(e).catch((err) => { ui.status.textContent = `${err.name}: ${err.message}`; }));
$('qa-form').addEventListener('submit', (e) => ask(e).catch((err) => { ui.status.textContent = `${err.name}: ${err.message}`; }));
