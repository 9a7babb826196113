//! `webslm bench-schema`: what structured output costs per decoded token. The same prompt is
//! decoded greedily with a schema active and without one (the same number of tokens, end of text
//! ignored), and the report gives the CPU time llguidance spends on each token's mask as a share
//! of the constrained decode step, plus the step time against the unconstrained one (the
//! difference also holds the mask upload, the masking kernel and the second submit).

use std::path::Path;

use serde::Serialize;

use crate::clock::Stopwatch;
use crate::constraint::{ConstraintSpec, Guide, Vocabulary};
use crate::engine::{Engine, EngineOptions};
use crate::models::ModelError;
use crate::sampling::{Sampler, SamplingParams};

#[derive(Debug, Serialize)]
pub struct SchemaBench {
    pub vocab: usize,
    /// Building the token trie for the vocabulary (once per model).
    pub vocab_secs: f64,
    /// Compiling the schema (once per request).
    pub compile_secs: f64,
    pub tokens: usize,
    pub forced_tokens: usize,
    /// Per decoded token, in milliseconds.
    pub mask_ms: f64,
    pub step_ms: f64,
    pub unconstrained_step_ms: f64,
    /// mask_ms / step_ms.
    pub mask_share: f64,
}

fn request(schema: &ConstraintSpec) -> String {
    match schema {
        ConstraintSpec::JsonSchema(s) => format!("Reply with JSON following this schema: {s}"),
        _ => "Reply with JSON.".into(),
    }
}

/// Runs `runs` constrained generations of up to `max_tokens` and as many unconstrained tokens;
/// medians of the per-token times.
pub fn bench_schema(
    path: &Path,
    spec: &ConstraintSpec,
    max_tokens: usize,
    runs: usize,
    options: &EngineOptions,
) -> Result<SchemaBench, ModelError> {
    let mut engine = Engine::load(path, options)?;
    let tokenizer = engine.tokenizer()?;
    let stop_ids = engine.stop_ids(&tokenizer);
    let t = Stopwatch::start();
    let vocab = Vocabulary::new(&tokenizer, engine.model.cfg.vocab, &stop_ids)?;
    let vocab_secs = t.secs();
    let prompt = tokenizer.encode(&request(spec))?;
    let (mut mask, mut step, mut free, mut compile) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut tokens, mut forced) = (0, 0);
    for _ in 0..runs.max(1) {
        let t = Stopwatch::start();
        let mut guide = Guide::new(&vocab, spec)?;
        compile.push(t.secs());
        engine.cache.truncate(0);
        let mut sampler = Sampler::new(SamplingParams::greedy());
        let g = engine.generate_guided(&prompt, max_tokens, &mut sampler, &stop_ids, &mut guide, |_| true)?;
        // Decode time covers tokens after the first (prefill's); masks, every token's.
        let n = g.ids.len().max(2);
        step.push(g.decode_secs * 1e3 / (n - 1) as f64);
        mask.push(g.mask_secs * 1e3 / n as f64);
        (tokens, forced) = (g.ids.len(), g.forced_tokens);
        engine.cache.truncate(0);
        let mut sampler = Sampler::new(SamplingParams::greedy());
        let u = engine.generate(&prompt, n, &mut sampler, &[], |_| true)?;
        free.push(u.decode_secs * 1e3 / (u.ids.len().max(2) - 1) as f64);
    }
    let (mask_ms, step_ms) = (super::model::median(mask), super::model::median(step));
    Ok(SchemaBench {
        vocab: vocab.vocab,
        vocab_secs,
        compile_secs: super::model::median(compile),
        tokens,
        forced_tokens: forced,
        mask_ms,
        step_ms,
        unconstrained_step_ms: super::model::median(free),
        mask_share: mask_ms / step_ms.max(1e-9),
    })
}
