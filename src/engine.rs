//! A loaded decoder on a GPU with its KV cache: prefill (reusing a cached prefix), and the
//! next-token distribution, which stays on the GPU except for its top entries.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use crate::chat_template::{ChatTemplate, ChatTemplateError};
use crate::clock::Stopwatch;
use crate::constraint::{ConstraintError, Guide, Mask};
use crate::gpu::{Batch, DType, GpuContext, GpuOptions, GpuTensor};
use crate::kernels::logprobs::logprobs;
use crate::kernels::mask::mask_logits;
use crate::kernels::penalty::penalize;
use crate::kernels::topk::{top_k, TopK};
use crate::lora::{self, AdapterSpec, LoraAdapter, LoraError};
use crate::models::files::ModelFiles;
#[cfg(not(target_arch = "wasm32"))]
use crate::models::safetensors_source::{SafetensorsSource, ShardedSource};
#[cfg(not(target_arch = "wasm32"))]
use crate::models::{source::GgufSource, tensor_source::TensorSource};
use crate::models::{Decoder, KvCache, KvDtype, ModelError};
use crate::sampling::{Sampler, SamplingParams, TokenLogprobs};
use crate::tokenizer::{Tokenizer, TokenizerError};

/// Options for loading a model.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Positions of the KV cache (prompt plus generated tokens).
    pub context: usize,
    /// Most prompt tokens one forward pass takes; longer prompts are prefilled in chunks.
    pub max_chunk: usize,
    /// How the KV cache stores keys and values (f16 unless asked otherwise).
    pub kv_dtype: KvDtype,
    pub gpu: GpuOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            context: 2048,
            max_chunk: 128,
            kv_dtype: KvDtype::default(),
            gpu: GpuOptions::default(),
        }
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    MaxTokens,
    EndOfText,
    Cancelled,
    ContextFull,
    StopString,
}

/// What [`Engine::generate`] produced, with timings. Decode time includes the readback of each
/// token's candidates, as a user would wait for it.
pub struct GenerationStats {
    pub ids: Vec<u32>,
    pub prompt_tokens: usize,
    /// Prompt tokens that were run; the others were reused from the KV cache.
    pub prefilled_tokens: usize,
    pub prefill_secs: f64,
    pub decode_secs: f64,
    pub stop: StopReason,
    /// The end-of-generation id that stopped it, if one did (not included in `ids`).
    pub stop_token: Option<u32>,
    /// With a grammar: seconds spent computing token masks on the CPU (while the GPU ran the
    /// forward pass), and tokens the grammar forced (no top-k, no readback).
    pub mask_secs: f64,
    pub forced_tokens: usize,
    /// With `SamplingParams::logprobs`: one entry per id of `ids`.
    pub logprobs: Vec<TokenLogprobs>,
}

impl GenerationStats {
    pub fn prefill_tok_s(&self) -> f64 {
        self.prefilled_tokens as f64 / self.prefill_secs.max(1e-9)
    }

    /// Tokens after the first (which prefill produced) per second of decoding.
    pub fn decode_tok_s(&self) -> f64 {
        self.ids.len().saturating_sub(1) as f64 / self.decode_secs.max(1e-9)
    }
}

/// Result of [`Engine::score`].
pub struct Score {
    pub tokens: usize,
    pub ppl: f64,
    /// argmax of the logits at positions 0..n-1 (the model's guess for each next token).
    pub argmax_next: Vec<u32>,
}

/// log softmax(row)[target], in f64.
#[cfg(not(target_arch = "wasm32"))]
fn log_softmax_at(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&l| (l as f64 - max).exp()).sum();
    row[target] as f64 - max - sum.ln()
}

/// The index of the first maximum of `row`, ignoring NaN (0 when there is none). "First", as
/// the GPU top-k breaks ties, so that scoring's guesses match greedy decoding's.
#[cfg(not(target_arch = "wasm32"))]
fn argmax(row: &[f32]) -> u32 {
    let mut best: Option<(u32, f32)> = None;
    for (i, &v) in row.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i as u32, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// How the next token is chosen: sampled from the GPU's candidates, or forced by a grammar.
enum Choice {
    Sample(Candidates),
    Forced(u32),
}

/// Each candidate's log-probability under the raw logits, and the raw logits' top ids with theirs.
type CandidateLogprobs = (Vec<f32>, Vec<(u32, f32)>);

/// The GPU's top candidates (id, logit after bias, penalties and mask), best first; with
/// logprobs, their [`CandidateLogprobs`].
struct Candidates {
    list: Vec<(u32, f32)>,
    logprobs: Option<CandidateLogprobs>,
}

impl Candidates {
    /// `id`'s log-probabilities, when they were computed and `id` is a candidate.
    fn logprobs_of(&self, id: u32) -> Option<TokenLogprobs> {
        let (lps, top) = self.logprobs.as_ref()?;
        let at = self.list.iter().position(|c| c.0 == id)?;
        Some(TokenLogprobs {
            id,
            logprob: lps[at],
            top: top.clone(),
        })
    }
}

/// What [`Engine::record_candidates`] leaves to read back: the candidates, and with logprobs
/// the candidates' log-probabilities (plus log-sum-exp) and the raw logits' top ids.
struct Recorded {
    top: TopK,
    logprobs: Option<(GpuTensor, Option<TopK>)>,
}

pub struct Engine {
    pub ctx: GpuContext,
    pub model: Decoder,
    pub cache: KvCache,
    pub files: ModelFiles,
    /// Tokens the last prefill actually ran (the rest came from the cache).
    pub last_prefill_tokens: usize,
    /// The id the next LoRA adapter gets (ids are never reused within an engine).
    next_adapter: u32,
}

impl Engine {
    /// Loads a `.gguf` file, or an HF folder (`config.json`, `model.safetensors`,
    /// `tokenizer.json`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Self, ModelError> {
        let ctx = GpuContext::new_blocking(options.gpu.clone())?;
        let (model, files) = if path.is_dir() {
            load_folder(&ctx, path)?
        } else {
            let mut src = GgufSource::open(path)?;
            (Decoder::load(&ctx, &mut src)?, ModelFiles::Gguf(src.gguf))
        };
        Self::new(ctx, model, files, options)
    }

    /// An engine for a model already on `ctx`, with a KV cache of `options.context` positions
    /// (at most the model's training context).
    pub fn new(
        ctx: GpuContext,
        model: Decoder,
        files: ModelFiles,
        options: &EngineOptions,
    ) -> Result<Self, ModelError> {
        let context = options.context.min(model.cfg.train_context).max(1);
        let cache = KvCache::new(&ctx, &model.cfg, context, options.max_chunk, options.kv_dtype)?;
        Ok(Engine {
            ctx,
            model,
            cache,
            files,
            last_prefill_tokens: 0,
            next_adapter: 0,
        })
    }

    /// Attaches a LoRA adapter: checked against the model, uploaded once, inactive until
    /// [`Engine::set_adapters`] names it. Returns its id and the GPU bytes it added.
    pub fn load_adapter(&mut self, adapter: &LoraAdapter) -> Result<(u32, u64), LoraError> {
        let id = self.next_adapter;
        let bytes = lora::attach_decoder(&self.ctx, &mut self.model, adapter, id)?;
        self.next_adapter += 1;
        Ok((id, bytes))
    }

    /// The adapters the next calls run with (empty: the base model). Switching uploads nothing;
    /// a cached prefix computed under other adapters is dropped.
    pub fn set_adapters(&mut self, active: &[AdapterSpec]) -> Result<(), LoraError> {
        if lora::set_active(self.model.linears_mut(), active)? {
            self.cache.truncate(0);
        }
        Ok(())
    }

    /// Frees adapter `id`'s GPU memory.
    pub fn unload_adapter(&mut self, id: u32) -> Result<(), LoraError> {
        let active = self
            .model
            .linears_mut()
            .iter()
            .any(|(_, l)| l.lora.iter().any(|t| t.adapter == id && t.scale != 0.0));
        if !lora::detach(self.model.linears_mut(), id) {
            return Err(LoraError::UnknownId(id));
        }
        if active {
            self.cache.truncate(0);
        }
        Ok(())
    }

    /// The model's tokenizer: the GGUF vocabulary, or the folder's `tokenizer.json`.
    pub fn tokenizer(&self) -> Result<Tokenizer, TokenizerError> {
        match &self.files {
            ModelFiles::Gguf(g) => Tokenizer::from_gguf(g),
            #[cfg(not(target_arch = "wasm32"))]
            ModelFiles::Folder { dir, .. } => Tokenizer::from_model_path(dir),
            #[cfg(target_arch = "wasm32")]
            ModelFiles::Folder { .. } => Err(TokenizerError::NoTokenizerJson {
                path: "a folder (the browser build reads files from memory)".into(),
            }),
            ModelFiles::Memory { tokenizer_json, .. } => Tokenizer::from_json_bytes(tokenizer_json),
        }
    }

    /// The chat template: the GGUF's, or `tokenizer_config.json`'s (a family fallback without).
    pub fn chat_template(&self) -> Result<ChatTemplate, ChatTemplateError> {
        match &self.files {
            ModelFiles::Gguf(g) => ChatTemplate::from_gguf(g),
            ModelFiles::Folder { dir, model_type, .. } => {
                let json = std::fs::read(dir.join("tokenizer_config.json")).unwrap_or_else(|_| b"{}".to_vec());
                ChatTemplate::from_tokenizer_config(&json, model_type)
            }
            ModelFiles::Memory {
                tokenizer_config,
                model_type,
                ..
            } => ChatTemplate::from_tokenizer_config(tokenizer_config.as_deref().unwrap_or(b"{}"), model_type),
        }
    }

    /// Ids that end generation (see [`ModelFiles::stop_ids`]).
    pub fn stop_ids(&self, tokenizer: &Tokenizer) -> Vec<u32> {
        self.files.stop_ids(tokenizer)
    }

    /// Feeds `tokens` after the longest prefix already in the cache and returns the logits of the
    /// last token (`[1, vocab]`, on the GPU). At least the last token is always recomputed.
    pub fn prefill(&mut self, tokens: &[u32]) -> Result<GpuTensor, ModelError> {
        if tokens.is_empty() {
            return Err(ModelError::EmptyPrompt);
        }
        if tokens.len() > self.cache.context {
            return Err(ModelError::ContextOverflow {
                needed: tokens.len(),
                context: self.cache.context,
            });
        }
        let keep = self.reusable_prefix(tokens);
        self.cache.truncate(keep);
        self.last_prefill_tokens = tokens.len() - keep;
        let mut logits = None;
        for chunk in tokens[keep..].chunks(self.cache.max_chunk) {
            logits = Some(self.forward(chunk, false)?);
        }
        logits.ok_or(ModelError::EmptyPrompt)
    }

    /// Runs `tokens` (at most one chunk) through the model in one submit.
    pub fn forward(&mut self, tokens: &[u32], all_logits: bool) -> Result<GpuTensor, ModelError> {
        let ids = self.ctx.upload_u32(tokens, &[tokens.len()])?;
        let mut batch = Batch::new(&self.ctx)?;
        let logits = self
            .model
            .forward(&mut batch, &mut self.cache, &ids, tokens, all_logits)?;
        batch.submit()?;
        Ok(logits)
    }

    /// How many cached positions can serve `tokens` (at most all but the last token, whose logits
    /// are needed): the common prefix `p`, unless a sliding-window layer's ring has overwritten a
    /// key that continuing from `p` needs. Position t sits in slot t % cap, so after `cached`
    /// positions the ring holds `cached - cap ..`; the query at p sees keys from p + 1 - window.
    /// Reuse is safe iff `cached <= cap + max(0, p + 1 - window)`; otherwise start over.
    fn reusable_prefix(&self, tokens: &[u32]) -> usize {
        let common = self.cache.tokens.iter().zip(tokens).take_while(|(a, b)| a == b).count();
        let keep = common.min(tokens.len().saturating_sub(1));
        let cached = self.cache.len();
        let window = self.model.cfg.sliding_window;
        let ring_ok = self
            .cache
            .layers
            .iter()
            .all(|l| l.cap >= self.cache.context || cached <= l.cap + (keep + 1).saturating_sub(window));
        if ring_ok {
            keep
        } else {
            0
        }
    }

    /// Records logit_bias and penalties (from `generated`, this request's tokens), the grammar's
    /// mask and top-k on `logits` into `batch`. With logprobs, the raw logits are first copied
    /// (the penalties work in place), and the log-softmax of the copy is gathered at the
    /// candidates' ids on the GPU: only k + 1 values come back, never the vocabulary.
    fn record_candidates(
        &self,
        batch: &mut Batch<'_>,
        logits: &GpuTensor,
        p: &SamplingParams,
        generated: &[u32],
        mask: Option<&Mask>,
    ) -> Result<Recorded, ModelError> {
        let raw = match p.logprobs {
            true => {
                let raw = self.ctx.tensor(&logits.shape, DType::F32)?;
                batch.copy(logits.buffer(), raw.buffer(), logits.bytes());
                Some(raw)
            }
            false => None,
        };
        let entries = p.penalty_entries(generated);
        penalize(
            batch,
            logits,
            &entries,
            p.repeat_penalty,
            p.presence_penalty,
            p.frequency_penalty,
        )?;
        if let Some(mask) = mask {
            mask_logits(batch, logits, &mask.words)?;
        }
        let top = top_k(batch, logits, p.candidates())?;
        let logprobs = match raw {
            Some(raw) => {
                let lps = logprobs(batch, &raw, &top.ids)?;
                let raw_top = match p.top_logprobs {
                    0 => None,
                    n => Some(top_k(batch, &raw, n)?),
                };
                Some((lps, raw_top))
            }
            None => None,
        };
        Ok(Recorded { top, logprobs })
    }

    /// Submits `batch` and reads the candidates back with it: one submit, one wait. Candidates at
    /// -inf (masked by a grammar) are dropped: they are not allowed, however few remain.
    async fn submit_for_candidates(batch: Batch<'_>, r: &Recorded) -> Result<Candidates, ModelError> {
        let mut tensors = vec![&r.top.ids, &r.top.values];
        if let Some((lps, raw_top)) = &r.logprobs {
            tensors.push(lps);
            if let Some(t) = raw_top {
                tensors.extend([&t.ids, &t.values]);
            }
        }
        let words = batch.submit_and_read(&tensors).await?;
        let pairs = |ids: &[u32], vals: &[u32]| -> Vec<(u32, f32, usize)> {
            ids.iter()
                .zip(vals)
                .enumerate()
                .filter(|(_, (id, v))| **id != u32::MAX && f32::from_bits(**v) != f32::NEG_INFINITY)
                .map(|(i, (&id, &v))| (id, f32::from_bits(v), i))
                .collect()
        };
        let kept = pairs(&words[0], &words[1]);
        let list = kept.iter().map(|&(id, v, _)| (id, v)).collect();
        let logprobs = words.get(2).map(|lps| {
            let lps: Vec<f32> = lps.iter().map(|&w| f32::from_bits(w)).collect();
            let lse = lps.last().copied().unwrap_or(0.0);
            let cand = kept.iter().map(|&(_, _, i)| lps[i]).collect();
            let top = match (words.get(3), words.get(4)) {
                (Some(ids), Some(vals)) => pairs(ids, vals).into_iter().map(|(id, v, _)| (id, v - lse)).collect(),
                _ => Vec::new(),
            };
            (cand, top)
        });
        Ok(Candidates { list, logprobs })
    }

    /// The next token's choice after `logits`: with a grammar, its mask is computed on the CPU
    /// while the GPU runs the forward pass already submitted, then applied before top-k; a
    /// token the grammar forces needs no top-k nor readback at all.
    async fn next_choice(
        &self,
        logits: &GpuTensor,
        params: &SamplingParams,
        generated: &[u32],
        guide: Option<&mut Guide>,
        mask_secs: &mut f64,
    ) -> Result<Choice, ModelError> {
        let t = Stopwatch::start();
        let mask = match guide {
            Some(g) => Some(g.mask()?),
            None => None,
        };
        *mask_secs += t.secs();
        // A forced token still goes through top-k when its log-probability is wanted.
        if let Some(id) = mask.as_ref().and_then(Mask::forced).filter(|_| !params.logprobs) {
            return Ok(Choice::Forced(id));
        }
        let mut batch = Batch::new(&self.ctx)?;
        let r = self.record_candidates(&mut batch, logits, params, generated, mask.as_ref())?;
        let cands = Self::submit_for_candidates(batch, &r).await?;
        if mask.is_some() && cands.list.is_empty() {
            return Err(ConstraintError::Matcher("the grammar allows no token the model can produce".into()).into());
        }
        Ok(Choice::Sample(cands))
    }

    /// [`Engine::generate_async`], waiting for the GPU (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn generate(
        &mut self,
        prompt: &[u32],
        max_tokens: usize,
        sampler: &mut Sampler,
        stop_ids: &[u32],
        mut on_token: impl FnMut(u32) -> bool,
    ) -> Result<GenerationStats, ModelError> {
        pollster::block_on(self.generate_async(prompt, max_tokens, sampler, stop_ids, None, |id, _| on_token(id)))
    }

    /// [`Engine::generate`] with the output constrained by `guide` (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn generate_guided(
        &mut self,
        prompt: &[u32],
        max_tokens: usize,
        sampler: &mut Sampler,
        stop_ids: &[u32],
        guide: &mut Guide,
        mut on_token: impl FnMut(u32) -> bool,
    ) -> Result<GenerationStats, ModelError> {
        pollster::block_on(
            self.generate_async(prompt, max_tokens, sampler, stop_ids, Some(guide), |id, _| on_token(id)),
        )
    }

    /// Generates up to `max_tokens` after `prompt`, calling `on_token` with each new id (return
    /// false to stop). Stops at any id in `stop_ids`, which is not passed on. Without a grammar,
    /// each decoded token is one submit: forward, penalties and top-k, reading back only the top
    /// candidates. With one (`guide`), the forward pass is submitted first and the mask computed
    /// meanwhile; end-of-generation ids are allowed only where the grammar accepts, and a grammar
    /// that cannot finish in `max_tokens` ends with `StopReason::MaxTokens`. `on_token` also
    /// gets the token's log-probabilities when `SamplingParams::logprobs` asks for them.
    pub async fn generate_async(
        &mut self,
        prompt: &[u32],
        max_tokens: usize,
        sampler: &mut Sampler,
        stop_ids: &[u32],
        mut guide: Option<&mut Guide>,
        mut on_token: impl FnMut(u32, Option<&TokenLogprobs>) -> bool,
    ) -> Result<GenerationStats, ModelError> {
        let vocab = self.model.cfg.vocab;
        if let Some(&(id, _)) = sampler.params.logit_bias.iter().find(|(id, _)| *id as usize >= vocab) {
            return Err(ModelError::TokenOutOfVocab { id, vocab });
        }
        let t0 = Stopwatch::start();
        let logits = self.prefill(prompt)?;
        let mut mask_secs = 0.0;
        let mut forced_tokens = 0;
        let mut logprobs = Vec::new();
        let mut choice = self
            .next_choice(&logits, &sampler.params, &[], guide.as_deref_mut(), &mut mask_secs)
            .await?;
        let prefill_secs = t0.secs();
        let t1 = Stopwatch::start();
        let mut generated = Vec::new();
        let mut stop = StopReason::MaxTokens;
        let mut stop_token = None;
        while generated.len() < max_tokens {
            let (token, lp) = match &choice {
                Choice::Forced(id) => {
                    forced_tokens += 1;
                    (*id, None)
                }
                Choice::Sample(cands) => match sampler.pick(&cands.list) {
                    Some(t) => (t, cands.logprobs_of(t)),
                    None => break,
                },
            };
            if stop_ids.contains(&token) {
                stop = StopReason::EndOfText;
                stop_token = Some(token);
                break;
            }
            if let Some(g) = guide.as_deref_mut() {
                g.commit(token)?;
            }
            generated.push(token);
            let keep_going = on_token(token, lp.as_ref());
            logprobs.extend(lp);
            if !keep_going {
                stop = StopReason::Cancelled;
                break;
            }
            if generated.len() == max_tokens {
                break;
            }
            if self.cache.len() + 1 > self.cache.context {
                stop = StopReason::ContextFull;
                break;
            }
            let ids = self.ctx.upload_u32(&[token], &[1])?;
            let mut batch = Batch::new(&self.ctx)?;
            let logits = self.model.forward(&mut batch, &mut self.cache, &ids, &[token], false)?;
            if guide.is_some() {
                batch.submit()?;
                choice = self
                    .next_choice(
                        &logits,
                        &sampler.params,
                        &generated,
                        guide.as_deref_mut(),
                        &mut mask_secs,
                    )
                    .await?;
            } else {
                let r = self.record_candidates(&mut batch, &logits, &sampler.params, &generated, None)?;
                choice = Choice::Sample(Self::submit_for_candidates(batch, &r).await?);
            }
        }
        let decode_secs = t1.secs();
        Ok(GenerationStats {
            ids: generated,
            prompt_tokens: prompt.len(),
            prefilled_tokens: self.last_prefill_tokens,
            prefill_secs,
            decode_secs,
            stop,
            stop_token,
            mask_secs,
            forced_tokens,
            logprobs,
        })
    }

    /// Teacher-forced evaluation of a whole sequence from an empty cache: the argmax of the logits
    /// at every position but the last, and the perplexity of tokens 1.. (exp of the mean negative
    /// log-likelihood). Logits are read back chunk by chunk, sized to fit one binding.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn score(&mut self, tokens: &[u32]) -> Result<Score, ModelError> {
        if tokens.len() < 2 {
            return Err(ModelError::TooFewTokens(tokens.len()));
        }
        if tokens.len() > self.cache.context {
            return Err(ModelError::ContextOverflow {
                needed: tokens.len(),
                context: self.cache.context,
            });
        }
        let vocab = self.model.cfg.vocab;
        let rows_fit = (self.ctx.caps.max_binding_bytes() / (vocab as u64 * 4)).max(1) as usize;
        let chunk = self.cache.max_chunk.min(rows_fit);
        self.cache.truncate(0);
        let (mut argmax_next, mut nll) = (Vec::new(), 0.0f64);
        for (c, part) in tokens.chunks(chunk).enumerate() {
            let logits = self.forward(part, true)?;
            let logits = self.read_logits(&logits)?;
            for (i, row) in logits.chunks_exact(vocab).enumerate() {
                let pos = c * chunk + i;
                if pos + 1 >= tokens.len() {
                    break;
                }
                argmax_next.push(argmax(row));
                nll -= log_softmax_at(row, tokens[pos + 1] as usize);
            }
        }
        let n = (tokens.len() - 1) as f64;
        Ok(Score {
            tokens: tokens.len(),
            ppl: (nll / n).exp(),
            argmax_next,
        })
    }

    /// The `k` best (id, logit) pairs of `logits`, best first (k <= 64; computed on the GPU).
    pub async fn top_k_async(&self, logits: &GpuTensor, k: usize) -> Result<Vec<(u32, f32)>, ModelError> {
        let mut batch = Batch::new(&self.ctx)?;
        let top = top_k(&mut batch, logits, k)?;
        let r = Recorded { top, logprobs: None };
        Ok(Self::submit_for_candidates(batch, &r).await?.list)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn top_k(&self, logits: &GpuTensor, k: usize) -> Result<Vec<(u32, f32)>, ModelError> {
        pollster::block_on(self.top_k_async(logits, k))
    }

    /// All logits, copied to the CPU (evaluation tools; generation never needs this).
    pub async fn read_logits_async(&self, logits: &GpuTensor) -> Result<Vec<f32>, ModelError> {
        debug_assert_eq!(logits.dtype, DType::F32);
        Ok(self.ctx.read_f32(logits).await?)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_logits(&self, logits: &GpuTensor) -> Result<Vec<f32>, ModelError> {
        pollster::block_on(self.read_logits_async(logits))
    }
}

/// An HF decoder folder: its config, weights and what the tokenizer needs.
#[cfg(not(target_arch = "wasm32"))]
fn load_folder(ctx: &GpuContext, dir: &Path) -> Result<(Decoder, ModelFiles), ModelError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| ModelError::Io {
            name: path.display().to_string(),
            source,
        })
    };
    let generation_config = match dir.join("generation_config.json").is_file() {
        true => Some(read("generation_config.json")?),
        false => None,
    };
    let hf = crate::models::hf::parse(&read("config.json")?, generation_config.as_deref())?;
    let weights = dir.join("model.safetensors");
    let mut src: Box<dyn TensorSource> = if weights.is_file() {
        Box::new(SafetensorsSource::open(&weights)?)
    } else if dir.join("model.safetensors.index.json").is_file() {
        Box::new(ShardedSource::open_dir(dir)?)
    } else {
        return Err(ModelError::NoWeights {
            dir: dir.display().to_string(),
        });
    };
    let model = crate::models::hf::load(ctx, hf.cfg, src.as_mut())?;
    let files = ModelFiles::Folder {
        dir: dir.to_path_buf(),
        model_type: hf.model_type,
        eos_ids: hf.eos_ids,
    };
    Ok((model, files))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::argmax;

    #[test]
    fn argmax_first_and_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[f32::NAN, -1.0, f32::NAN, -0.5]), 3);
        assert_eq!(argmax(&[f32::NEG_INFINITY]), 0);
        assert_eq!(argmax(&[f32::NAN]), 0);
        assert_eq!(argmax(&[]), 0);
    }
}
