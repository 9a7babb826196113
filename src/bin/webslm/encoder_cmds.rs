//! Commands that run an encoder model folder: `embed`, `classify`, `ner`, `qa` and
//! `bench-embed`. Results are JSON on stdout, one object per text.

use std::time::Instant;

use serde_json::json;
use webslm::analysis::ner::Aggregation;
use webslm::analysis::qa::QaOptions;
use webslm::analysis::{EmbedOptions, TextModel};
use webslm::lora::AdapterSpec;
use webslm::ops::Pooling;

use super::opts::{print_line, Opts};

/// The model folder, with each `--lora PATH[:SCALE]` (a PEFT folder; repeatable) attached and
/// active at its scale.
fn open(opts: &Opts) -> Result<TextModel, String> {
    let dir = opts.required("model")?;
    let gpu = opts.gpu_options()?; // a bad --kernels before a download
                                   // Bad adapter files are reported before the model is loaded.
    let adapters = opts
        .all("lora")
        .into_iter()
        .map(super::model_cmds::read_adapter)
        .collect::<Result<Vec<_>, _>>()?;
    let path = super::resolve::model_path(dir)?;
    let mut model = TextModel::open(&path, gpu).map_err(|e| format!("{dir}: {e}"))?;
    let mut active = Vec::new();
    for (path, adapter, scale) in adapters {
        let (id, _) = model
            .load_adapter(&adapter)
            .map_err(|e| format!("--lora {path}: {e}"))?;
        active.push(AdapterSpec { id, scale });
    }
    model.set_adapters(&active).map_err(|e| format!("--lora: {e}"))?;
    Ok(model)
}

/// `--text` values, then the lines of `--file` (empty lines skipped).
fn texts(opts: &Opts) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = opts.all("text").into_iter().map(str::to_string).collect();
    if let Some(f) = opts.str("file") {
        let body = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        out.extend(body.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    }
    if out.is_empty() {
        return Err("give at least one --text (or --file with one text per line)".into());
    }
    Ok(out)
}

/// `embed`: one L2-normalised vector per text, all texts in one batch unless --batch-size.
pub fn embed(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(
        args,
        &["truncate", "no-normalize"],
        &["model", "text", "file", "pooling", "batch-size", "lora"],
    )?;
    let texts = texts(&opts)?;
    let pooling = match opts.str("pooling") {
        None => None,
        Some("mean") => Some(Pooling::Mean),
        Some("cls") => Some(Pooling::First),
        Some(other) => return Err(format!("--pooling {other}: use mean or cls")),
    };
    let model = open(&opts)?;
    let options = EmbedOptions {
        pooling,
        normalize: !opts.has("no-normalize"),
        truncate: opts.has("truncate"),
        // One batch for the texts of a command line; a long --file goes in batches of 64.
        batch_size: opts.get("batch-size", texts.len().min(64))?.max(1),
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embeddings = model.embed(&refs, &options).map_err(|e| e.to_string())?;
    print_line(json!({ "embeddings": embeddings }))?;
    Ok(())
}

/// `classify`: every label with its score, highest first.
pub fn classify(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &["truncate"], &["model", "text", "file", "lora"])?;
    let texts = texts(&opts)?;
    let model = open(&opts)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for labels in model.classify(&refs, opts.has("truncate")).map_err(|e| e.to_string())? {
        print_line(json!({ "labels": labels }))?;
    }
    Ok(())
}

/// `ner`: entities with label, score, word and character offsets.
pub fn ner(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &["truncate"], &["model", "text", "file", "aggregation", "lora"])?;
    let texts = texts(&opts)?;
    // Word level by default: an entity never ends inside a word, and "first" matches how BERT
    // NER models are fine-tuned (labels on each word's first token).
    let name = opts.str("aggregation").unwrap_or("first");
    let strategy = Aggregation::parse(name)
        .ok_or_else(|| format!("--aggregation {name}: use none, simple, first, average or max"))?;
    let model = open(&opts)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for entities in model
        .entities(&refs, strategy, opts.has("truncate"))
        .map_err(|e| e.to_string())?
    {
        print_line(json!({ "entities": entities }))?;
    }
    Ok(())
}

/// `qa`: the best answer span (or the `--top-k` best) in the context.
pub fn qa(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(
        args,
        &["handle-impossible"],
        &[
            "model",
            "question",
            "context",
            "context-file",
            "top-k",
            "max-answer-len",
            "max-seq-len",
            "doc-stride",
            "lora",
        ],
    )?;
    let question = opts.required("question")?;
    let context = match (opts.str("context"), opts.str("context-file")) {
        (Some(c), None) => c.to_string(),
        (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?,
        _ => return Err("give exactly one of --context and --context-file".into()),
    };
    let d = QaOptions::default();
    let options = QaOptions {
        max_answer_len: opts.get("max-answer-len", d.max_answer_len)?,
        top_k: opts.get("top-k", d.top_k)?,
        max_seq_len: opts.get("max-seq-len", d.max_seq_len)?,
        doc_stride: opts.get("doc-stride", d.doc_stride)?,
        handle_impossible_answer: opts.has("handle-impossible"),
    };
    if options.top_k == 0 || options.max_answer_len == 0 {
        return Err("--top-k and --max-answer-len must be at least 1".into());
    }
    let model = open(&opts)?;
    let answers = model.answer(question, &context, &options).map_err(|e| e.to_string())?;
    if options.top_k > 1 {
        return print_line(json!({ "answers": answers }));
    }
    match answers.first() {
        Some(a) => print_line(json!(a)),
        None => print_line(json!({ "answer": null })),
    }
}

/// `bench-embed`: sentences per second at each batch size, on a fixed sentence list (the one
/// `scripts/bench/sentence_transformers_speed.py` times, so the two can be compared).
pub fn bench_embed(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &[], &["model", "sentences", "batch", "seconds"])?;
    let path = opts.str("sentences").unwrap_or("scripts/bench/sentences.json");
    let body = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    #[derive(serde::Deserialize)]
    struct Sentences {
        sentences: Vec<String>,
    }
    let sentences = serde_json::from_slice::<Sentences>(&body)
        .map_err(|e| format!("{path}: {e}"))?
        .sentences;
    if sentences.is_empty() {
        return Err(format!("{path} holds no sentences"));
    }
    let seconds: f64 = opts.get("seconds", 5.0)?;
    let sizes = opts.counts("batch", "1,32")?;
    let model = open(&opts)?;
    eprintln!("adapter: {}", model.ctx.caps.summary());
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    for &batch in &sizes {
        let options = EmbedOptions {
            batch_size: batch.max(1),
            truncate: true,
            ..EmbedOptions::default()
        };
        let chunk = |i: usize| {
            let start = (i * batch) % refs.len();
            (0..batch).map(|j| refs[(start + j) % refs.len()]).collect::<Vec<_>>()
        };
        model.embed(&chunk(0), &options).map_err(|e| e.to_string())?; // warm-up: pipelines
        let (t0, mut done, mut i) = (Instant::now(), 0usize, 0usize);
        while t0.elapsed().as_secs_f64() < seconds || done == 0 {
            model.embed(&chunk(i), &options).map_err(|e| e.to_string())?;
            done += batch;
            i += 1;
        }
        let rate = done as f64 / t0.elapsed().as_secs_f64();
        print_line(
            json!({ "impl": "webslm", "adapter": model.ctx.caps.adapter, "batch": batch, "sentences_per_s": rate }),
        )?;
    }
    Ok(())
}
