//! The structured-output options of `generate` and `chat`: `--json-schema FILE`,
//! `--json-object`, `--grammar FILE` (Lark) and `--regex R`, at most one of them.

use webslm::constraint::{ConstraintSpec, Guide, Vocabulary};

use super::model_cmds::Loaded;
use super::opts::Opts;

pub const CONSTRAINT_VALUED: [&str; 3] = ["json-schema", "grammar", "regex"];
pub const CONSTRAINT_SWITCHES: [&str; 1] = ["json-object"];

fn read(flag: &str, path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("--{flag} {path}: {e}"))
}

/// The constraint the options ask for, if any; a second one is an error.
pub fn spec(opts: &Opts) -> Result<Option<ConstraintSpec>, String> {
    let mut specs = Vec::new();
    if let Some(path) = opts.str("json-schema") {
        let text = read("json-schema", path)?;
        specs.push(ConstraintSpec::json_schema_text(&text).map_err(|e| format!("--json-schema {path}: {e}"))?);
    }
    if opts.has("json-object") {
        specs.push(ConstraintSpec::JsonObject);
    }
    if let Some(path) = opts.str("grammar") {
        specs.push(ConstraintSpec::Lark(read("grammar", path)?));
    }
    if let Some(rx) = opts.str("regex") {
        specs.push(ConstraintSpec::Regex(rx.to_string()));
    }
    match specs.len() {
        0 | 1 => Ok(specs.pop()),
        _ => Err("give at most one of --json-schema, --json-object, --grammar, --regex".into()),
    }
}

/// The model's vocabulary for llguidance, built when a constraint needs it.
pub fn vocabulary(m: &Loaded) -> Result<Vocabulary, String> {
    Vocabulary::new(&m.tokenizer, m.engine.model.cfg.vocab, &m.stop_ids).map_err(|e| e.to_string())
}

/// A fresh matcher for one generation (bad schemas and grammars fail here, before any token).
pub fn guide(vocab: &Vocabulary, spec: &ConstraintSpec) -> Result<Guide, String> {
    Guide::new(vocab, spec).map_err(|e| e.to_string())
}

/// `webslm bench-schema --model P --json-schema FILE [--tokens N] [--runs R] [--context N]`.
pub fn bench_schema(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(
        args,
        &["json-object"],
        &["model", "json-schema", "grammar", "regex", "tokens", "runs", "context"],
    )?;
    let path = opts.required("model")?;
    let spec = spec(&opts)?.ok_or("give --json-schema FILE (or --json-object, --grammar, --regex)")?;
    let defaults = webslm::engine::EngineOptions::default();
    let options = webslm::engine::EngineOptions {
        context: opts.get("context", 1024)?,
        ..defaults
    };
    let resolved = super::resolve::model_path(path)?;
    let r = webslm::bench::constraint::bench_schema(
        &resolved,
        &spec,
        opts.get("tokens", 64)?,
        opts.get("runs", 3)?,
        &options,
    )
    .map_err(|e| format!("{path}: {e}"))?;
    let body = serde_json::to_string(&r).map_err(|e| e.to_string())?;
    super::opts::print_line(body)
}
