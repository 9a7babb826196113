// The text-analysis demo: sentiment, entities plus pattern-matched personal data (e-mail
// addresses, phone numbers), semantic search with sentence embeddings, and extractive QA.
import { modelsFor, fillPicker, loadWithProgress, served } from '/www/common.js';
import { hasModelInCache } from '/pkg/webslm.js';
import { similaritySentiment } from '/www/sentiment.js';

const $ = (id) => document.getElementById(id);
const ui = { progress: $('progress'), status: $('status') };
// Each task's picker defaults to a real checkpoint from the catalogue (the random-weight test
// fixtures are listed, labelled, but never the default). `?sentiment=ID&ner=ID&embed=ID&qa=ID`
// picks others (the e2e tests pick the fixtures this way, offline).
const TASKS = {
  sentiment: ['text-classification', 'distilbert-sst2'],
  ner: ['token-classification', 'bert-base-ner'],
  embed: ['feature-extraction', 'all-minilm-l6-v2'],
  qa: ['question-answering', 'mobilebert-squad'],
};
const MINILM_LOCAL = 'local:all-minilm-l6-v2';
const SIMILARITY = 'similarity:all-minilm-l6-v2';
const lists = {};
const engines = {};
const loadedBySpec = new Map();

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
  const model = lists[task].all.find((m) => m.id === id);
  // Sentiment by similarity and search both run MiniLM: one copy of the weights on the GPU.
  const key = JSON.stringify(model.spec);
  const loaded = loadedBySpec.get(key) ?? (await loadWithProgress(model, ui));
  if (!loaded) throw new Error('unsupported');
  loadedBySpec.set(key, loaded);
  // Sentiment from MiniLM: embeddings compared with labelled examples (www/sentiment.js).
  const e = model.similarity ? similaritySentiment(loaded) : loaded;
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
    // Entities and sentiment fail on their own: a hub model that cannot download (offline) must
    // not stop the other, nor the pattern matches.
    const problems = [];
    try {
      const ner = await engine('ner');
      const [entities] = await ner.ner(text, 'first');
      for (const e of entities) spans.push({ ...e, kind: e.label });
    } catch (e) {
      problems.push(`entities: ${e.name}: ${e.message}`);
    }
    $('highlighted').innerHTML = highlight(text, spans);
    const paras = paragraphs();
    try {
      const sentiment = await engine('sentiment');
      const scores = await sentiment.classify(paras);
      $('sentiment').replaceChildren(...paras.map((p, i) => {
        const li = document.createElement('li');
        li.dataset.label = scores[i][0].label;
        li.textContent = `${scores[i][0].label} (${scores[i][0].score.toFixed(2)}): ${p.slice(0, 80)}${p.length > 80 ? '…' : ''}`;
        return li;
      }));
    } catch (e) {
      problems.push(`sentiment: ${e.name}: ${e.message}`);
    }
    ui.status.textContent = problems.length
      ? problems.join('; ')
      : `Found ${spans.length} entities and personal data items in ${paras.length} paragraphs.`;
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

/** The sentiment picker's offline choice: MiniLM by similarity, from this server or the hub. */
function similarityModel(minilm) {
  return {
    id: SIMILARITY,
    name: 'all-MiniLM-L6-v2 by similarity to labelled examples (real weights, works offline)',
    task: 'text-classification',
    spec: minilm.spec,
    bytes: minilm.bytes,
    similarity: true,
  };
}

/** Fills the pickers; the engine getter awaits this, so it is only ever read once filled. */
async function loadLists() {
  try {
    const asked = new URLSearchParams(location.search);
    const embeds = await modelsFor(['feature-extraction']);
    const local = embeds.local.find((m) => m.id === MINILM_LOCAL);
    // The same real weights: this server's copy (scripts/fetch-models.sh) when it has one.
    const minilm = local && (await served(local.spec.configUrl)) ? local : embeds.hub.find((m) => m.id === TASKS.embed[1]);
    for (const [task, [kind, hubDefault]] of Object.entries(TASKS)) {
      const found = task === 'embed' ? embeds : await modelsFor([kind]);
      const extra = task === 'sentiment' && minilm ? [['Offline, real weights', [similarityModel(minilm)]]] : [];
      lists[task] = { ...found, all: [...extra.flatMap(([, l]) => l), ...found.local, ...found.hub] };
      let choice = hubDefault;
      if (task === 'embed' && minilm) choice = minilm.id;
      // Sentiment: the hub classifier once it is cached, else MiniLM by similarity (offline).
      if (task === 'sentiment' && minilm && !(await hasModelInCache(hubDefault).catch(() => false))) choice = SIMILARITY;
      if (asked.has(task)) choice = asked.get(task);
      fillPicker($(`m-${task}`), found, choice, extra);
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
