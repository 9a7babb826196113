//! Commands that run a decoder: `logits` (and, with the tokenizer, `generate`, `score`, `chat`).

use std::path::Path;

use webslm::engine::{Engine, EngineOptions};

use super::opts::Opts;

fn load(opts: &Opts) -> Result<Engine, String> {
    let path = opts.required("model")?;
    let defaults = EngineOptions::default();
    let options = EngineOptions {
        context: opts.get("context", defaults.context)?,
        ..defaults
    };
    Engine::load(Path::new(path), &options).map_err(|e| format!("{path}: {e}"))
}

/// Token ids from `--ids 1,2,3`.
fn parse_ids(s: &str) -> Result<Vec<u32>, String> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("--ids: `{t}` is not a token id"))
        })
        .collect()
}

/// `webslm logits --model P --ids 1,2,3 --top K`: the top K next-token logits, best first.
pub fn logits(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(args, &[])?;
    opts.only(&["model", "ids", "top", "context"])?;
    let ids = parse_ids(opts.required("ids")?)?;
    let k: usize = opts.get("top", 5)?;
    let mut engine = load(&opts)?;
    let logits = engine.prefill(&ids).map_err(|e| e.to_string())?;
    let top = engine.top_k(&logits, k).map_err(|e| e.to_string())?;
    let (ids, values): (Vec<u32>, Vec<f32>) = top.into_iter().unzip();
    println!("{}", serde_json::json!({ "ids": ids, "logits": values }));
    Ok(())
}
