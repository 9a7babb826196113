//! `webslm bench --model P`: a decoder end to end, as a user meets it.
//!
//! Each run loads the model afresh (load time includes waiting for the uploads), then for each
//! prompt length prefills the benchmark prompt into an empty cache and reads the first token back
//! (time to first token). After the first prompt it decodes `decode_tokens` greedy tokens, ignoring
//! end-of-text so every run decodes the same count. Reports take medians over runs.
//!
//! After the last run's decode, a few more tokens are stepped one at a time to see where a decoded
//! token goes: CPU time recording it, time waiting for the GPU and the readback, dispatches and
//! submits, and bytes of weights and KV cache fetched against the least a token must read; and
//! the counters that stand in for a real-GPU timing (`PerToken`), with what they predict on two
//! reference GPUs (`gpu_model`: a model, not a measurement).

use std::path::Path;

use serde::Serialize;

use crate::clock::Stopwatch;
use crate::engine::{Engine, EngineOptions};
use crate::gpu::{Batch, GpuOptions, StatsSnapshot};
use crate::kernels::topk::top_k;
use crate::models::ModelError;
use crate::sampling::{Sampler, SamplingParams};

use super::gpu_model::{self, Predicted, TokenWork};
use super::lora::{attach_and_measure, BenchAdapter, LoraCost};
use super::prompt::prompt_ids;

#[derive(Clone, Debug)]
pub struct ModelBenchConfig {
    pub runs: usize,
    /// Prompt lengths to prefill; the decode follows the first.
    pub prompt_lens: Vec<usize>,
    pub decode_tokens: usize,
    /// Tokens stepped one at a time after the decode to measure per-token costs.
    pub cost_tokens: usize,
    /// Tokens decoded with per-kernel profiling (0: none).
    pub profile_tokens: usize,
    /// LoRA adapters attached after each load and active for every measurement (`--lora`).
    pub adapters: Vec<BenchAdapter>,
}

/// One run's timings.
#[derive(Clone, Debug, Serialize)]
pub struct RunTimes {
    pub load_secs: f64,
    /// Time to first token for each prompt length: prefill plus reading the first token back.
    pub ttft_secs: Vec<f64>,
    /// Tokens after the first per second of decoding, readbacks included.
    pub decode_tok_s: f64,
}

/// What one decoded token costs, from tokens stepped alone at the end of the decode window.
#[derive(Clone, Debug, Serialize)]
pub struct TokenCost {
    /// Cache length when the first measured token was decoded.
    pub position: usize,
    pub tokens: usize,
    /// Per token (totals over `tokens`, divided).
    pub dispatches: f64,
    pub submits: f64,
    pub weight_bytes_read: f64,
    pub kv_bytes_read: f64,
    /// The least a token must read: every weight once (one row of an untied embedding table),
    /// every visible key and value once.
    pub weight_bytes: u64,
    pub kv_bytes_needed: f64,
    /// Medians: CPU time recording the token's work, then time from submit to the candidates.
    pub record_secs: f64,
    pub wait_secs: f64,
}

impl TokenCost {
    /// Bytes fetched over the least that must be: 1.0 is the memory-bandwidth bound.
    pub fn read_ratio(&self) -> f64 {
        (self.weight_bytes_read + self.kv_bytes_read) / (self.weight_bytes as f64 + self.kv_bytes_needed).max(1.0)
    }
}

/// The shape of one decoded token's work, from `GpuStats` (see `gpu::stats`): what a real GPU's
/// speed depends on and a software adapter's timing cannot show. Averages over the measured
/// tokens; maxima and minima over all of them.
#[derive(Clone, Debug, Serialize)]
pub struct PerToken {
    pub dispatches: f64,
    pub compute_passes: f64,
    pub queue_writes: f64,
    /// The fewest invocations a weight-reading dispatch (a GEMV, in decode) had.
    pub min_gemv_invocations: Option<u64>,
    /// Share of the weight bytes read by dispatches of fewer than
    /// `gpu::SMALL_DISPATCH_INVOCATIONS` invocations (too few to fill a real GPU).
    pub small_dispatch_weight_share: f64,
    /// The longest chain of weight loads one invocation makes in a loop.
    pub max_serial_weight_loads: u64,
    /// Those chains summed over the token's weight-reading dispatches (the model's latency term).
    pub serial_weight_loads: f64,
    /// The largest dynamically indexed private array a dispatched kernel declares.
    pub private_array_bytes: u64,
    pub weight_bytes_read: f64,
    /// KV cache bytes read for one token at `TokenCost::position`.
    pub kv_bytes_per_token: f64,
}

impl PerToken {
    fn from_stats(d: &StatsSnapshot, tokens: usize) -> Self {
        let per = |x: u64| x as f64 / tokens as f64;
        PerToken {
            dispatches: per(d.dispatches),
            compute_passes: per(d.compute_passes),
            queue_writes: per(d.queue_writes),
            min_gemv_invocations: d.min_weight_invocations,
            small_dispatch_weight_share: d.small_dispatch_weight_bytes as f64 / d.weight_bytes_read.max(1) as f64,
            max_serial_weight_loads: d.max_serial_weight_loads,
            serial_weight_loads: per(d.serial_weight_loads),
            private_array_bytes: d.private_array_bytes,
            weight_bytes_read: per(d.weight_bytes_read),
            kv_bytes_per_token: per(d.kv_bytes_read),
        }
    }

    /// What these counters predict on the reference GPUs.
    pub fn model_tok_s(&self) -> ModelTokS {
        let work = TokenWork {
            bytes: self.weight_bytes_read + self.kv_bytes_per_token,
            serial_weight_loads: self.serial_weight_loads,
            dispatches: self.dispatches,
            compute_passes: self.compute_passes,
        };
        let [integrated, discrete] = gpu_model::REFERENCE_GPUS.map(|g| gpu_model::predict(&work, &g));
        ModelTokS {
            kind: gpu_model::LABEL,
            integrated_100gbps: integrated.tok_s,
            discrete_500gbps: discrete.tok_s,
            terms: vec![integrated, discrete],
            gpus: gpu_model::REFERENCE_GPUS.to_vec(),
        }
    }
}

/// Decode tok/s that the per-token counters predict on two reference GPUs: a model, not a
/// measurement (`kind` says so in the JSON).
#[derive(Clone, Debug, Serialize)]
pub struct ModelTokS {
    pub kind: &'static str,
    pub integrated_100gbps: f64,
    pub discrete_500gbps: f64,
    /// Each GPU's time per token split into the model's terms, and the constants it assumed.
    pub terms: Vec<Predicted>,
    pub gpus: Vec<gpu_model::ReferenceGpu>,
}

/// GPU time per decoded token of each kernel family (see `gpu::profile`).
#[derive(Clone, Debug, Serialize)]
pub struct KernelShare {
    pub kernel: String,
    pub calls_per_token: f64,
    pub ms_per_token: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    pub tokens: usize,
    /// Milliseconds of one empty submit and wait: the overhead inside every profiled dispatch.
    pub empty_submit_ms: f64,
    /// Milliseconds per dispatch of a tiny kernel (a residual add of one token) when hundreds
    /// are batched into one submit, as in a real decode step: the floor every dispatch pays.
    pub batched_tiny_dispatch_ms: f64,
    /// Most expensive first.
    pub kernels: Vec<KernelShare>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelBench {
    pub model: String,
    pub adapter: String,
    /// The kernel path the device ran (`software` or `gpu`), and why it was chosen.
    pub kernels: String,
    pub kernels_reason: String,
    pub prompt_lens: Vec<usize>,
    pub decode_tokens: usize,
    pub runs: Vec<RunTimes>,
    pub cost: TokenCost,
    /// The counters of the same measured tokens that predict real-GPU speed, and the prediction.
    pub per_token: PerToken,
    pub model_tok_s: ModelTokS,
    /// Bytes: weights on the GPU, the KV cache, and the most buffer memory alive at once.
    pub weight_bytes: u64,
    pub kv_cache_bytes: u64,
    pub gpu_peak_bytes: u64,
    pub profile: Option<Profile>,
    /// With `--lora`: the GPU bytes the adapters added and what switching them costs.
    pub lora: Option<LoraCost>,
    /// The prompts run, so peers can run the very same ids.
    pub prompts: Vec<Vec<u32>>,
}

/// Median of `xs` (the mean of the middle two for an even count); NaN when empty.
pub fn median(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.into_iter().collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() % 2 {
        0 => (v[mid - 1] + v[mid]) / 2.0,
        _ => v[mid],
    }
}

impl ModelBench {
    pub fn median_load_secs(&self) -> f64 {
        median(self.runs.iter().map(|r| r.load_secs))
    }

    pub fn median_ttft_secs(&self, prompt: usize) -> f64 {
        median(self.runs.iter().filter_map(|r| r.ttft_secs.get(prompt).copied()))
    }

    pub fn median_prefill_tok_s(&self, prompt: usize) -> f64 {
        self.prompt_lens[prompt] as f64 / self.median_ttft_secs(prompt)
    }

    pub fn median_decode_tok_s(&self) -> f64 {
        median(self.runs.iter().map(|r| r.decode_tok_s))
    }
}

fn greedy() -> Sampler {
    Sampler::new(SamplingParams::greedy())
}

/// Runs the benchmark on the model at `path`; `progress` hears about each finished step.
pub fn bench_model(
    path: &Path,
    cfg: &ModelBenchConfig,
    options: &EngineOptions,
    mut progress: impl FnMut(&str),
) -> Result<ModelBench, ModelError> {
    if cfg.prompt_lens.is_empty() || cfg.prompt_lens.contains(&0) {
        return Err(ModelError::Config(
            "the benchmark needs prompt lengths of 1 or more".into(),
        ));
    }
    let longest = cfg.prompt_lens.iter().copied().max().unwrap_or(0);
    let needed = longest.max(cfg.prompt_lens.first().copied().unwrap_or(0) + cfg.decode_tokens + cfg.cost_tokens);
    let options = EngineOptions {
        context: options.context.max(needed + 1),
        ..options.clone()
    };
    let n_runs = cfg.runs.max(1);
    let mut runs = Vec::new();
    let mut prompts = Vec::new();
    // What only the last run measures: the per-token cost, and the device's figures.
    let mut last = None;
    let mut lora = None;
    for run in 0..n_runs {
        let is_last = run + 1 == n_runs;
        let sw = Stopwatch::start();
        let mut engine = Engine::load(path, &options)?;
        engine.ctx.wait_idle()?;
        let load_secs = sw.secs();
        if run == 0 {
            // Engine::new caps the cache at the model's training context; say so before running.
            if engine.cache.context < needed + 1 {
                return Err(ModelError::Config(format!(
                    "the benchmark needs {} positions (the longest prompt, or the first prompt plus the \
                     decoded and measured tokens) but this model's context holds {}; use shorter --prompts \
                     or --decode",
                    needed + 1,
                    engine.cache.context
                )));
            }
            let tokenizer = engine.tokenizer()?;
            for &len in &cfg.prompt_lens {
                prompts.push(prompt_ids(&tokenizer, len).map_err(ModelError::Config)?);
            }
        }
        if !cfg.adapters.is_empty() {
            // Not in the load time: that is the base model's. The step after a switch decodes the
            // prompt's first token into the cache the switch emptied.
            let first = prompts.first().and_then(|p| p.first()).copied().unwrap_or(0);
            let cost = attach_and_measure(&mut engine, &cfg.adapters, |e| timed_step(e, first).map(|_| ()))?;
            if is_last {
                lora = Some(cost);
            }
        }
        let mut ttft_secs = Vec::new();
        let mut decode_tok_s = f64::NAN;
        let mut cost = None;
        for (i, prompt) in prompts.iter().enumerate() {
            engine.cache.truncate(0);
            let max_tokens = if i == 0 { cfg.decode_tokens.max(1) } else { 1 };
            let stats = engine.generate(prompt, max_tokens, &mut greedy(), &[], |_| true)?;
            ttft_secs.push(stats.prefill_secs);
            if i == 0 {
                decode_tok_s = stats.decode_tok_s();
                if is_last {
                    let last_token = stats.ids.last().copied().unwrap_or(0);
                    cost = Some(token_cost(&mut engine, last_token, cfg.cost_tokens.max(1))?);
                }
            }
        }
        let times = RunTimes {
            load_secs,
            ttft_secs,
            decode_tok_s,
        };
        progress(&format!(
            "run {}: load {:.2} s, ttft {:?} s, decode {:.2} tok/s",
            run + 1,
            times.load_secs,
            times
                .ttft_secs
                .iter()
                .map(|s| (s * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            times.decode_tok_s
        ));
        runs.push(times);
        if let Some(cost) = cost {
            let sizes = (engine.model.weight_bytes(), engine.cache.size_bytes());
            last = Some((cost, engine.ctx.caps.clone(), sizes));
        }
    }
    // The prompts are not empty (checked above), so the last run measured the cost.
    let ((cost, per_token, gpu_peak_bytes), caps, (weight_bytes, kv_cache_bytes)) =
        last.ok_or_else(|| ModelError::Config("no prompt to benchmark".into()))?;
    // Every engine of the runs is gone: the profiled one has the device to itself.
    let profile = match cfg.profile_tokens {
        0 => None,
        n => Some(profile_kernels(path, &options, &cfg.adapters, &prompts[0], n)?),
    };
    Ok(ModelBench {
        model: path.display().to_string(),
        adapter: caps.summary(),
        kernels: caps.kernels.path.to_string(),
        kernels_reason: caps.kernels.reason.clone(),
        prompt_lens: cfg.prompt_lens.clone(),
        decode_tokens: cfg.decode_tokens,
        runs,
        weight_bytes,
        kv_cache_bytes,
        gpu_peak_bytes,
        cost,
        model_tok_s: per_token.model_tok_s(),
        per_token,
        profile,
        lora,
        prompts,
    })
}

/// One decode step, timed: (next token, CPU seconds recording, seconds from submit to readback).
fn timed_step(engine: &mut Engine, token: u32) -> Result<(u32, f64, f64), ModelError> {
    let sw = Stopwatch::start();
    let ids = engine.ctx.upload_u32(&[token], &[1])?;
    let mut batch = Batch::new(&engine.ctx)?;
    let logits = engine
        .model
        .forward(&mut batch, &mut engine.cache, &ids, &[token], false)?;
    let best = top_k(&mut batch, &logits, 1)?;
    let recorded = sw.secs();
    let words = batch.submit_and_read_blocking(&[&best.ids])?;
    let next = words.first().and_then(|w| w.first()).copied().unwrap_or(0);
    Ok((next, recorded, sw.secs() - recorded))
}

/// Steps `tokens` tokens after whatever the cache holds; returns their cost, their shape counters
/// and the GPU's peak buffer bytes so far.
fn token_cost(engine: &mut Engine, mut token: u32, tokens: usize) -> Result<(TokenCost, PerToken, u64), ModelError> {
    let position = engine.cache.len();
    // The maxima and minima cover the measured tokens only, not the prefill's GEMMs.
    engine.ctx.stats.reset_shape();
    let before = engine.ctx.stats.snapshot();
    let (mut record, mut wait) = (Vec::new(), Vec::new());
    let mut kv_needed = 0u64;
    for _ in 0..tokens {
        kv_needed += engine.model.kv_bytes_needed(engine.cache.len(), engine.cache.dtype);
        let (next, r, w) = timed_step(engine, token)?;
        record.push(r);
        wait.push(w);
        token = next;
    }
    let after = engine.ctx.stats.snapshot();
    let d: StatsSnapshot = after.since(&before);
    let per = |x: u64| x as f64 / tokens as f64;
    let cost = TokenCost {
        position,
        tokens,
        dispatches: per(d.dispatches),
        submits: per(d.submits),
        weight_bytes_read: per(d.weight_bytes_read),
        kv_bytes_read: per(d.kv_bytes_read),
        weight_bytes: engine.model.decode_weight_bytes(),
        kv_bytes_needed: per(kv_needed),
        record_secs: median(record),
        wait_secs: median(wait),
    };
    Ok((cost, PerToken::from_stats(&d, tokens), after.peak_bytes))
}

/// Decodes `tokens` tokens after `prompt` with every dispatch submitted and timed alone.
fn profile_kernels(
    path: &Path,
    options: &EngineOptions,
    adapters: &[BenchAdapter],
    prompt: &[u32],
    tokens: usize,
) -> Result<Profile, ModelError> {
    let options = EngineOptions {
        gpu: GpuOptions {
            profile_kernels: true,
            ..options.gpu.clone()
        },
        ..options.clone()
    };
    let mut engine = Engine::load(path, &options)?;
    if !adapters.is_empty() {
        attach_and_measure(&mut engine, adapters, |_| Ok(()))?;
    }
    let first = engine.generate(prompt, 1, &mut greedy(), &[], |_| true)?;
    let mut token = first.ids.first().copied().unwrap_or(0);
    let empty_submit_ms = empty_submit_secs(&engine)? * 1000.0;
    let batched_tiny_dispatch_ms = tiny_dispatch_secs(&engine, &options.gpu)? * 1000.0;
    // The times so far, restarting from zero (a fresh borrow each time: stepping needs the engine).
    let take = |engine: &Engine| {
        let profiler = engine.ctx.profiler.as_ref();
        profiler
            .map(|p| p.take())
            .ok_or_else(|| ModelError::Config("profiling was asked for but is off".into()))
    };
    take(&engine)?; // the prefill's kernels are not the decode's
    for _ in 0..tokens {
        token = timed_step(&mut engine, token)?.0;
    }
    let mut kernels: Vec<KernelShare> = take(&engine)?
        .into_iter()
        .map(|(name, t)| KernelShare {
            kernel: name.to_string(),
            calls_per_token: t.calls as f64 / tokens as f64,
            ms_per_token: t.secs * 1000.0 / tokens as f64,
        })
        .collect();
    kernels.sort_by(|a, b| b.ms_per_token.total_cmp(&a.ms_per_token));
    Ok(Profile {
        tokens,
        empty_submit_ms,
        batched_tiny_dispatch_ms,
        kernels,
    })
}

/// Seconds per dispatch of 400 one-token residual adds in one submit, on a second device opened
/// with the same options but profiling off (the profiled one submits every dispatch alone).
fn tiny_dispatch_secs(engine: &Engine, gpu: &GpuOptions) -> Result<f64, ModelError> {
    use crate::kernels::elementwise::{elementwise, Op};
    let ctx = crate::gpu::GpuContext::new_blocking(GpuOptions {
        profile_kernels: false,
        ..gpu.clone()
    })?;
    let x = ctx.upload_f32(&vec![1.0; engine.model.cfg.n_embd], &[1, engine.model.cfg.n_embd])?;
    let count = 400;
    let mut times = Vec::new();
    for _ in 0..5 {
        let sw = Stopwatch::start();
        let mut batch = Batch::new(&ctx)?;
        let mut y = elementwise(&mut batch, Op::Add, &x, Some(&x))?;
        for _ in 1..count {
            y = elementwise(&mut batch, Op::Add, &y, Some(&x))?;
        }
        batch.submit()?;
        ctx.wait_idle()?;
        times.push(sw.secs() / count as f64);
    }
    Ok(median(times))
}

/// Median seconds of submitting an empty command buffer and waiting for it.
fn empty_submit_secs(engine: &Engine) -> Result<f64, ModelError> {
    let mut times = Vec::new();
    for _ in 0..20 {
        let sw = Stopwatch::start();
        Batch::new(&engine.ctx)?.submit()?;
        engine.ctx.wait_idle()?;
        times.push(sw.secs());
    }
    Ok(median(times))
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median([]).is_nan());
    }
}
