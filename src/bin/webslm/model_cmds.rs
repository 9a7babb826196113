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

/// `webslm generate --model P --ids I,J,.. [sampling options] [--json]`.
pub fn generate(args: &[String]) -> Result<(), String> {
    use webslm::sampling::{Sampler, SamplingParams};
    let opts = Opts::parse(args, &["json"])?;
    opts.only(&[
        "model",
        "ids",
        "max-tokens",
        "temperature",
        "top-k",
        "top-p",
        "min-p",
        "repeat-penalty",
        "seed",
        "context",
        "json",
    ])?;
    let ids = parse_ids(opts.required("ids")?)?;
    let d = SamplingParams::default();
    let params = SamplingParams {
        temperature: opts.get("temperature", d.temperature)?,
        top_k: opts.get("top-k", d.top_k)?,
        top_p: opts.get("top-p", d.top_p)?,
        min_p: opts.get("min-p", d.min_p)?,
        repeat_penalty: opts.get("repeat-penalty", d.repeat_penalty)?,
        seed: opts.get("seed", d.seed)?,
        ..d
    };
    let max_tokens: usize = opts.get("max-tokens", 64)?;
    let mut engine = load(&opts)?;
    let mut sampler = Sampler::new(params);
    let stats = engine
        .generate(&ids, max_tokens, &mut sampler, &[], |_| true)
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({
            "ids": stats.ids, "prompt_tokens": stats.prompt_tokens,
            "prefill_tok_s": stats.prefill_tok_s(), "decode_tok_s": stats.decode_tok_s(),
            "gpu_weight_bytes": engine.model.weight_bytes(), "kv_cache_bytes": engine.cache.size_bytes(),
        })
    );
    Ok(())
}

/// `webslm score --model P --ids I,J,..`: teacher-forced argmax and perplexity.
pub fn score(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(args, &[])?;
    opts.only(&["model", "ids", "context"])?;
    let ids = parse_ids(opts.required("ids")?)?;
    let mut engine = load(&opts)?;
    let s = engine.score(&ids).map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({ "tokens": s.tokens, "ppl": s.ppl, "argmax_next": s.argmax_next })
    );
    Ok(())
}
