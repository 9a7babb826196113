//! The one wasm-bindgen surface: what `pkg/webslm.js` calls. JS fetches and caches the files;
//! Rust parses headers, takes weight bytes chunk by chunk straight into GPU buffers (see
//! `models/streaming.rs`), and runs generation and the text-analysis tasks. Errors are JS
//! `Error`s whose `name` says the kind (`NoWebGPU`, `ContextOverflow`, `InputTooLong`, ...).

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::analysis::ner::Aggregation;
use crate::analysis::qa::QaOptions;
use crate::analysis::{AnalysisError, EmbedOptions, TextModel};
use crate::chat_template::RenderOptions;
use crate::constraint::{token_spellings, ConstraintError, ConstraintSpec, Guide, Vocabulary};
use crate::engine::{Engine, EngineOptions};
use crate::formats::gguf::{GgufError, GgufFile};
use crate::formats::safetensors::{SafetensorsError, SafetensorsFile};
use crate::generate::{generate_text_async, Limits};
use crate::gpu::{kernel_path, GpuContext, GpuError, GpuOptions, KernelChoice};
use crate::logprobs::Spellings;
use crate::lora::{AdapterSpec, LoraError};
use crate::models::encoder::{Encoder, EncoderConfig};
use crate::models::files::ModelFiles;
use crate::models::streaming::StreamingSource;
use crate::models::{Decoder, ModelError};
use crate::ops::Pooling;
use crate::sampling::{Sampler, SamplingParams, TokenLogprobs};
use crate::tokenizer::{Tokenizer, VocabFiles};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A JS `Error` with `name` = `kind`.
fn js_error(kind: &str, message: impl std::fmt::Display) -> JsValue {
    let e = js_sys::Error::new(&message.to_string());
    e.set_name(kind);
    e.into()
}

fn gpu_error(e: &GpuError) -> &'static str {
    match e {
        GpuError::NoAdapter(_) => "NoWebGPU",
        GpuError::DeviceLost(_) => "DeviceLost",
        GpuError::OutOfMemory(_) => "OutOfMemory",
        GpuError::LoopBudget { .. } => "InputTooLong",
        _ => "GpuError",
    }
}

fn model_error_kind(e: &ModelError) -> &'static str {
    match e {
        ModelError::Gpu(g) => gpu_error(g),
        ModelError::ContextOverflow { .. } => "ContextOverflow",
        ModelError::SequenceTooLong { .. } => "InputTooLong",
        ModelError::Gguf(_) | ModelError::Safetensors(_) | ModelError::BadShape { .. } => "FormatError",
        ModelError::UnknownArchitecture(_) | ModelError::NotADecoder(_) | ModelError::HfConfig(_) => "UnsupportedModel",
        ModelError::Tokenizer(_) => "TokenizerError",
        // A logit_bias id (or a prompt id) the model does not have.
        ModelError::TokenOutOfVocab { .. } => "InvalidRequest",
        // A schema, grammar or regex the request got wrong (before generation), or the matcher.
        ModelError::Constraint(
            ConstraintError::InvalidSchema(_) | ConstraintError::InvalidGrammar(_) | ConstraintError::InvalidRegex(_),
        ) => "InvalidConstraint",
        _ => "ModelError",
    }
}

fn model_error(e: ModelError) -> JsValue {
    js_error(model_error_kind(&e), e)
}

fn analysis_error(e: AnalysisError) -> JsValue {
    let kind = match &e {
        AnalysisError::Model(m) => model_error_kind(m),
        AnalysisError::InputTooLong { .. } | AnalysisError::QuestionTooLong { .. } => "InputTooLong",
        _ => "ModelError",
    };
    js_error(kind, e)
}

/// A LoRA adapter's error: a broken file is a `FormatError`, a GPU failure keeps its kind, and
/// everything else (an adapter that does not fit the base model, an unknown id, a bad scale) is
/// an `AdapterError` naming the tensor and shapes.
fn lora_error(e: LoraError) -> JsValue {
    let kind = match &e {
        LoraError::Gpu(g) => gpu_error(g),
        LoraError::Gguf(_) | LoraError::Safetensors(_) => "FormatError",
        _ => "AdapterError",
    };
    js_error(kind, e)
}

/// An adapter held in memory: `format` `gguf` (llama.cpp's adapter file, in `weights`) or `peft`
/// (`adapter_model.safetensors` in `weights`, `adapter_config.json` in `config`, and optionally
/// the task model's `config.json` in `task_config`, naming a saved head's labels).
fn parse_adapter(
    format: &str,
    weights: &[u8],
    config: Option<Vec<u8>>,
    task_config: Option<Vec<u8>>,
) -> Result<crate::lora::LoraAdapter, JsValue> {
    let mut adapter = match (format, config) {
        ("gguf", _) if task_config.is_some() => {
            return Err(js_error("AdapterError", "a GGUF adapter has no task model config.json"))
        }
        ("gguf", _) => crate::lora::gguf::parse(weights),
        ("peft", Some(config)) => crate::lora::peft::parse(&config, weights),
        ("peft", None) => return Err(js_error("AdapterError", "a PEFT adapter needs its adapter_config.json")),
        (other, _) => return Err(js_error("AdapterError", format!("unknown adapter format {other:?}"))),
    }
    .map_err(lora_error)?;
    if let Some(json) = task_config {
        adapter.labels = Some(crate::lora::peft::labels(&json).map_err(lora_error)?);
    }
    Ok(adapter)
}

/// `loadAdapter`'s answer, `{ id, gpu_bytes }`.
fn loaded_adapter(attached: Result<(u32, u64), LoraError>) -> Result<JsValue, JsValue> {
    let (id, gpu_bytes) = attached.map_err(lora_error)?;
    #[derive(Serialize)]
    struct Loaded {
        id: u32,
        gpu_bytes: f64,
    }
    to_js(&Loaded {
        id,
        gpu_bytes: gpu_bytes as f64,
    })
}

/// A JS argument of the shape `T`, or a `ModelError` saying what did not fit.
fn from_js<T: serde::de::DeserializeOwned>(v: JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v).map_err(|e| js_error("ModelError", e))
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    serde_wasm_bindgen::to_value(v).map_err(|e| js_error("ModelError", e))
}

/// The device options for the JS `kernels` option (`'auto'`, `'software'` or `'gpu'`; absent is
/// `'auto'`): an unknown path is a `GpuError` naming the accepted ones.
fn gpu_options(kernels: Option<String>) -> Result<GpuOptions, JsValue> {
    let kernels = match kernels {
        None => None,
        Some(k) => kernel_path::parse_requested(&k).map_err(|e| {
            let e = GpuError::from(e);
            js_error(gpu_error(&e), e)
        })?,
    };
    Ok(GpuOptions {
        kernels,
        ..GpuOptions::default()
    })
}

/// `{ path, reason }`: the kernel family a device runs and why.
#[derive(Serialize)]
struct Kernels<'a> {
    path: &'static str,
    reason: &'a str,
}

impl<'a> From<&'a KernelChoice> for Kernels<'a> {
    fn from(k: &'a KernelChoice) -> Self {
        Kernels {
            path: k.path.as_str(),
            reason: &k.reason,
        }
    }
}

/// The adapter's capabilities and the kernel path it gets (with `kernels` as `createEngine` would
/// ask), for `checkSupport` (a `NoWebGPU` error without one).
#[wasm_bindgen(js_name = adapterInfo)]
pub async fn adapter_info(kernels: Option<String>) -> Result<JsValue, JsValue> {
    let ctx = GpuContext::new(gpu_options(kernels)?)
        .await
        .map_err(|e| js_error(gpu_error(&e), e))?;
    let c = &ctx.caps;
    #[derive(Serialize)]
    struct Info<'a> {
        adapter: &'a str,
        backend: &'a str,
        software: bool,
        shader_f16: bool,
        max_storage_binding: f64,
        max_buffer_size: f64,
        kernels: Kernels<'a>,
    }
    to_js(&Info {
        adapter: &c.adapter,
        backend: &c.backend,
        software: c.is_software,
        shader_f16: c.shader_f16,
        max_storage_binding: c.max_storage_binding as f64,
        max_buffer_size: c.max_buffer_size as f64,
        kernels: (&c.kernels).into(),
    })
}

/// Bytes of the file's start that its header needs (0 when `prefix` is enough), so JS can
/// fetch the header with one or two Range requests.
#[wasm_bindgen(js_name = headerBytesNeeded)]
pub fn header_bytes_needed(format: &str, prefix: &[u8], file_len: f64) -> Result<f64, JsValue> {
    let len = file_len as u64;
    let needed = match format {
        "gguf" => match GgufFile::parse(prefix, len) {
            Err(GgufError::NeedMoreHeader { needed }) => needed,
            Err(e) => return Err(model_error(e.into())),
            Ok(_) => 0,
        },
        _ => match SafetensorsFile::parse(prefix, len) {
            Err(SafetensorsError::NeedMoreHeader { needed }) => needed,
            Err(e) => return Err(model_error(e.into())),
            Ok(_) => 0,
        },
    };
    Ok(needed as f64)
}

/// Ids of each of `texts` ([CLS] … [SEP]) under the BERT tokenizer that `vocab.txt` (+ optional
/// `tokenizer_config.json`, `special_tokens_map.json`) builds: the tokenizer an encoder without
/// tokenizer.json gets. Not re-exported by the JS package: `tests/e2e/browser.test.mjs` calls it
/// through the generated glue to compare the wasm build's ids with transformers'.
#[wasm_bindgen(js_name = vocabTxtIds)]
pub fn vocab_txt_ids(
    vocab_txt: &[u8],
    tokenizer_config: Option<Vec<u8>>,
    special_tokens_map: Option<Vec<u8>>,
    texts: JsValue,
) -> Result<JsValue, JsValue> {
    let texts: Vec<String> = from_js(texts)?;
    let tokenizer = Tokenizer::from_vocab_files(VocabFiles {
        vocab_txt,
        tokenizer_config: tokenizer_config.as_deref(),
        special_tokens_map: special_tokens_map.as_deref(),
    })
    .map_err(|e| model_error(e.into()))?;
    let ids = texts
        .iter()
        .map(|t| tokenizer.encode(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| model_error(e.into()))?;
    to_js(&ids)
}

/// What a weight file's header says, for `checkSupport` before any weight is downloaded:
/// `{ architecture, tensors, weight_bytes, largest_tensor, kv_bytes_per_token }` (the last for
/// GGUF decoders only: an f16 K and V per layer, the engine's default cache).
#[wasm_bindgen(js_name = headerSummary)]
pub fn header_summary(format: &str, prefix: &[u8], file_len: f64) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Summary {
        architecture: String,
        tensors: usize,
        weight_bytes: f64,
        largest_tensor: f64,
        kv_bytes_per_token: Option<f64>,
    }
    let len = file_len as u64;
    let summary = match format {
        "gguf" => {
            let g = GgufFile::parse(prefix, len).map_err(|e| model_error(e.into()))?;
            let cfg = crate::models::config_from_gguf(&g).map_err(model_error)?;
            let kv = cfg.n_layer * 2 * cfg.n_kv_head * cfg.head_dim * crate::models::KvDtype::default().elem_bytes();
            Summary {
                architecture: cfg.family.to_string(),
                tensors: g.tensors().len(),
                weight_bytes: g.tensors().iter().map(|t| t.n_bytes as f64).sum(),
                largest_tensor: g.tensors().iter().map(|t| t.n_bytes as f64).fold(0.0, f64::max),
                kv_bytes_per_token: Some(kv as f64),
            }
        }
        _ => {
            let f = SafetensorsFile::parse(prefix, len).map_err(|e| model_error(e.into()))?;
            let size = |t: &crate::formats::safetensors::TensorInfo| (t.range.end - t.range.start) as f64;
            Summary {
                architecture: String::new(),
                tensors: f.tensors().len(),
                weight_bytes: f.tensors().iter().map(size).sum(),
                largest_tensor: f.tensors().iter().map(size).fold(0.0, f64::max),
                kv_bytes_per_token: None,
            }
        }
    };
    to_js(&summary)
}

enum Header {
    Gguf(GgufFile),
    Safetensors,
}

/// Receives one weight file as a stream and becomes a model.
#[wasm_bindgen]
pub struct WeightLoader {
    ctx: GpuContext,
    header: Header,
    source: StreamingSource,
}

#[wasm_bindgen]
impl WeightLoader {
    /// Parses the header (`prefix` must hold it: see [`header_bytes_needed`]) and opens the GPU,
    /// running the kernel path `kernels` asks for (absent: the adapter's).
    pub async fn create(
        format: String,
        prefix: Vec<u8>,
        file_len: f64,
        kernels: Option<String>,
    ) -> Result<WeightLoader, JsValue> {
        let options = gpu_options(kernels)?;
        let len = file_len as u64;
        let (header, source) = match format.as_str() {
            "gguf" => {
                let g = GgufFile::parse(&prefix, len).map_err(|e| model_error(e.into()))?;
                let s = StreamingSource::for_gguf(&g, len);
                (Header::Gguf(g), s)
            }
            "safetensors" => {
                let f = SafetensorsFile::parse(&prefix, len).map_err(|e| model_error(e.into()))?;
                (Header::Safetensors, StreamingSource::for_safetensors(&f))
            }
            other => return Err(js_error("FormatError", format!("unknown weight format {other:?}"))),
        };
        let ctx = GpuContext::new(options).await.map_err(|e| js_error(gpu_error(&e), e))?;
        Ok(WeightLoader { ctx, header, source })
    }

    /// `{ path, reason }`: the kernel path this loader's device runs, for `loadInfo.kernels`.
    pub fn kernels(&self) -> Result<JsValue, JsValue> {
        to_js(&Kernels::from(&self.ctx.caps.kernels))
    }

    /// The next bytes of the file, in order; each completed tensor goes to the GPU.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        self.source.push(&self.ctx, chunk).map_err(model_error)
    }

    /// Bytes the loader may hold at once (the largest tensor).
    #[wasm_bindgen(js_name = largestTensor)]
    pub fn largest_tensor(&self) -> f64 {
        self.source.largest_tensor as f64
    }

    /// Lower-case hex SHA-256 of every byte pushed.
    pub fn sha256(&self) -> String {
        self.source.sha256_hex()
    }

    /// A decoder: from the GGUF header alone, or from safetensors with `config.json` and the
    /// tokenizer files.
    #[wasm_bindgen(js_name = intoDecoder)]
    pub fn into_decoder(
        mut self,
        config_json: Option<Vec<u8>>,
        tokenizer_json: Option<Vec<u8>>,
        tokenizer_config: Option<Vec<u8>>,
        context: usize,
    ) -> Result<WebEngine, JsValue> {
        if !self.source.is_complete() {
            return Err(js_error("ModelError", "the weight file has not been fully received"));
        }
        let (model, files) = match self.header {
            Header::Gguf(g) => {
                let model = Decoder::load_gguf(&self.ctx, &g, &mut self.source).map_err(model_error)?;
                (model, ModelFiles::Gguf(g))
            }
            Header::Safetensors => {
                let (Some(config), Some(tokenizer_json)) = (config_json, tokenizer_json) else {
                    return Err(js_error(
                        "ModelError",
                        "a safetensors decoder needs config.json and tokenizer.json",
                    ));
                };
                let hf = crate::models::hf::parse(&config, None).map_err(model_error)?;
                let model = crate::models::hf::load(&self.ctx, hf.cfg, &mut self.source).map_err(model_error)?;
                let files = ModelFiles::Memory {
                    tokenizer_json,
                    tokenizer_config,
                    model_type: hf.model_type,
                    eos_ids: hf.eos_ids,
                };
                (model, files)
            }
        };
        let options = EngineOptions {
            context: context.max(1),
            ..EngineOptions::default()
        };
        let engine = Engine::new(self.ctx, model, files, &options).map_err(model_error)?;
        let tokenizer = engine.tokenizer().map_err(|e| model_error(e.into()))?;
        let stop_ids = engine.stop_ids(&tokenizer);
        Ok(WebEngine {
            engine,
            tokenizer,
            stop_ids,
            vocab: None,
            spellings: None,
        })
    }

    /// An encoder from safetensors with its `config.json` and tokenizer files: `tokenizer.json`,
    /// or where the repo has none a BERT `vocab.txt` with its optional `tokenizer_config.json`
    /// and `special_tokens_map.json`. `max_len` 0 means the model's positions (and
    /// `model_max_length` when the vocab.txt's config sets it).
    #[wasm_bindgen(js_name = intoTextModel)]
    #[allow(clippy::too_many_arguments)]
    pub fn into_text_model(
        mut self,
        config_json: Vec<u8>,
        tokenizer_json: Option<Vec<u8>>,
        vocab_txt: Option<Vec<u8>>,
        tokenizer_config: Option<Vec<u8>>,
        special_tokens_map: Option<Vec<u8>>,
        max_len: usize,
        cls_pooling: bool,
    ) -> Result<WebTextModel, JsValue> {
        if !self.source.is_complete() {
            return Err(js_error("ModelError", "the weight file has not been fully received"));
        }
        let cfg = EncoderConfig::parse(&config_json).map_err(model_error)?;
        let tokenizer = match (tokenizer_json, vocab_txt) {
            (Some(json), _) => Tokenizer::from_json_bytes(&json),
            (None, Some(vocab)) => Tokenizer::from_vocab_files(VocabFiles {
                vocab_txt: &vocab,
                tokenizer_config: tokenizer_config.as_deref(),
                special_tokens_map: special_tokens_map.as_deref(),
            }),
            (None, None) => {
                return Err(js_error(
                    "TokenizerError",
                    "an encoder needs a tokenizer.json or a BERT vocab.txt",
                ))
            }
        }
        .map_err(|e| model_error(e.into()))?;
        let encoder = Encoder::load(&self.ctx, cfg, &mut self.source).map_err(model_error)?;
        let positions = encoder.cfg.max_positions;
        let max_len = if max_len == 0 {
            tokenizer.model_max_length().map_or(positions, |m| m.min(positions))
        } else {
            max_len.min(positions)
        };
        let pooling = if cls_pooling { Pooling::First } else { Pooling::Mean };
        Ok(WebTextModel {
            model: TextModel::new(self.ctx, encoder, tokenizer, max_len, pooling),
        })
    }
}

/// Options of [`WebEngine::generate`] (OpenAI's names).
#[derive(Deserialize, Default)]
#[serde(default)]
struct GenerateOptions {
    max_tokens: Option<usize>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    top_k: Option<usize>,
    min_p: Option<f32>,
    repeat_penalty: Option<f32>,
    frequency_penalty: Option<f32>,
    presence_penalty: Option<f32>,
    /// `[[token id, bias], ...]` (pkg/decoder.js turns OpenAI's object into pairs).
    logit_bias: Vec<(u32, f32)>,
    logprobs: bool,
    top_logprobs: Option<usize>,
    seed: Option<u64>,
    stop: Vec<String>,
    /// Keep going past end-of-text ids (llama.cpp's `ignore_eos`; benchmarks decode fixed counts).
    ignore_eos: bool,
    /// Structured output, as pkg/decoder.js maps OpenAI's `response_format`, `grammar`, `regex`.
    constraint: Option<WebConstraint>,
    /// The LoRA adapters this request runs with (`[{ id, scale }]`, ids from `loadAdapter`);
    /// absent or empty: the base model. Switching sets scales only, never uploads weights.
    adapters: Vec<AdapterSpec>,
}

/// `{ type: 'json_object' | 'json_schema' | 'grammar' | 'regex', value }`: `value` is the schema
/// (a JS object), the Lark grammar or the regex.
#[derive(Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
enum WebConstraint {
    JsonObject,
    JsonSchema(serde_json::Value),
    Grammar(String),
    Regex(String),
}

impl WebConstraint {
    fn spec(self) -> ConstraintSpec {
        match self {
            WebConstraint::JsonObject => ConstraintSpec::JsonObject,
            WebConstraint::JsonSchema(v) => ConstraintSpec::JsonSchema(v),
            WebConstraint::Grammar(g) => ConstraintSpec::Lark(g),
            WebConstraint::Regex(r) => ConstraintSpec::Regex(r),
        }
    }
}

#[derive(Serialize)]
struct Generation {
    text: String,
    ids: Vec<u32>,
    prompt_tokens: usize,
    finish_reason: &'static str,
    prefill_secs: f64,
    decode_secs: f64,
    /// OpenAI's `{content: [...]}` when logprobs were asked for.
    logprobs: Option<serde_json::Value>,
}

/// `v` as a plain JS value (objects as objects, not `Map`s as serde_wasm_bindgen's default).
fn to_js_json<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("ModelError", e))
}

#[wasm_bindgen]
pub struct WebEngine {
    engine: Engine,
    tokenizer: Tokenizer,
    stop_ids: Vec<u32>,
    /// The vocabulary compiled for llguidance, built by the first constrained request.
    vocab: Option<Vocabulary>,
    /// Every token's bytes, built by the first request for logprobs.
    spellings: Option<Spellings>,
}

#[wasm_bindgen]
impl WebEngine {
    /// Ids of `text` with the model's default special tokens.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, JsValue> {
        self.tokenizer.encode(text).map_err(|e| model_error(e.into()))
    }

    /// `messages` (`[{role, content}]`) rendered with the model's chat template, ready for
    /// the assistant's turn.
    #[wasm_bindgen(js_name = chatPrompt)]
    pub fn chat_prompt(&self, messages: JsValue) -> Result<String, JsValue> {
        let messages: Vec<serde_json::Value> = from_js(messages)?;
        let template = self.engine.chat_template().map_err(|e| js_error("ModelError", e))?;
        let opts = RenderOptions {
            add_generation_prompt: true,
            ..Default::default()
        };
        template.render(&messages, &opts).map_err(|e| js_error("ModelError", e))
    }

    /// Generates after `prompt` (ids), calling `on_text(piece, logprobs)` as text arrives (with
    /// logprobs, the `content` entries of the tokens since the previous piece; else undefined);
    /// it returns `false` to stop. Resolves to `{text, ids, prompt_tokens, finish_reason,
    /// logprobs?, ...}`.
    pub async fn generate(
        &mut self,
        prompt: Vec<u32>,
        options: JsValue,
        on_text: js_sys::Function,
    ) -> Result<JsValue, JsValue> {
        let o: GenerateOptions = if options.is_undefined() || options.is_null() {
            GenerateOptions::default()
        } else {
            from_js(options)?
        };
        let d = SamplingParams::default();
        let params = SamplingParams {
            temperature: o.temperature.unwrap_or(d.temperature),
            top_k: o.top_k.unwrap_or(d.top_k),
            top_p: o.top_p.unwrap_or(d.top_p),
            min_p: o.min_p.unwrap_or(d.min_p),
            repeat_penalty: o.repeat_penalty.unwrap_or(d.repeat_penalty),
            frequency_penalty: o.frequency_penalty.unwrap_or(d.frequency_penalty),
            presence_penalty: o.presence_penalty.unwrap_or(d.presence_penalty),
            logit_bias: o.logit_bias,
            logprobs: o.logprobs,
            top_logprobs: o.top_logprobs.unwrap_or(d.top_logprobs),
            seed: o.seed.unwrap_or(d.seed),
            ..d
        };
        params.validate().map_err(|e| js_error("InvalidRequest", e))?;
        if params.logprobs && self.spellings.is_none() {
            let words = token_spellings(&self.tokenizer, self.engine.model.cfg.vocab)
                .map_err(|e| js_error("TokenizerError", e))?;
            self.spellings = Some(Spellings(words));
        }
        self.engine.set_adapters(&o.adapters).map_err(lora_error)?;
        let mut sampler = Sampler::new(params);
        // A bad schema, grammar or regex fails here, before any token.
        let mut guide = match o.constraint {
            Some(c) => Some(self.guide(&c.spec()).map_err(model_error)?),
            None => None,
        };
        let spellings = self.spellings.as_ref().filter(|_| sampler.params.logprobs);
        let limits = Limits {
            max_tokens: o.max_tokens.unwrap_or(256),
            stop_ids: if o.ignore_eos { &[] } else { &self.stop_ids },
            stop_strings: &o.stop,
        };
        let on_piece = |piece: &str, lps: &[TokenLogprobs]| {
            let lps = match spellings {
                Some(s) => to_js_json(&s.content(lps)).unwrap_or(JsValue::UNDEFINED),
                None => JsValue::UNDEFINED,
            };
            let keep = on_text.call2(&JsValue::NULL, &JsValue::from_str(piece), &lps);
            !matches!(keep, Ok(v) if v == JsValue::FALSE)
        };
        let out = generate_text_async(
            &mut self.engine,
            &self.tokenizer,
            &prompt,
            &mut sampler,
            limits,
            guide.as_mut(),
            on_piece,
        )
        .await
        // ContextOverflow, DeviceLost, TokenizerError and the rest keep their names.
        .map_err(model_error)?;
        use crate::engine::StopReason;
        to_js_json(&Generation {
            logprobs: spellings.map(|s| s.logprobs(&out.stats.logprobs)),
            finish_reason: match out.stats.stop {
                StopReason::MaxTokens | StopReason::ContextFull => "length",
                StopReason::Cancelled => "abort",
                _ => "stop",
            },
            ids: out.stats.ids,
            prompt_tokens: out.stats.prompt_tokens,
            prefill_secs: out.stats.prefill_secs,
            decode_secs: out.stats.decode_secs,
            text: out.text,
        })
    }

    /// A matcher for `spec`, compiling the vocabulary on first use.
    fn guide(&mut self, spec: &ConstraintSpec) -> Result<Guide, ModelError> {
        let vocab = match self.vocab.take() {
            Some(v) => v,
            None => Vocabulary::new(&self.tokenizer, self.engine.model.cfg.vocab, &self.stop_ids)?,
        };
        let guide = Guide::new(&vocab, spec);
        self.vocab = Some(vocab);
        Ok(guide?)
    }

    /// Attaches a LoRA adapter held in memory (see [`parse_adapter`] for `format`). It is checked
    /// against the model and uploaded once, inactive until a request names it. Resolves to
    /// `{ id, gpu_bytes }`: the id requests use, and the GPU bytes added.
    #[wasm_bindgen(js_name = loadAdapter)]
    pub fn load_adapter(
        &mut self,
        format: &str,
        weights: &[u8],
        config: Option<Vec<u8>>,
        task_config: Option<Vec<u8>>,
    ) -> Result<JsValue, JsValue> {
        let adapter = parse_adapter(format, weights, config, task_config)?;
        loaded_adapter(self.engine.load_adapter(&adapter))
    }

    /// Frees adapter `id`'s GPU memory (an `AdapterError` for an id not loaded).
    #[wasm_bindgen(js_name = unloadAdapter)]
    pub fn unload_adapter(&mut self, id: u32) -> Result<(), JsValue> {
        self.engine.unload_adapter(id).map_err(lora_error)
    }

    /// Forgets the KV cache (the next prompt is prefilled from scratch).
    pub fn reset(&mut self) {
        self.engine.cache.truncate(0);
    }

    #[wasm_bindgen(js_name = contextLength)]
    pub fn context_length(&self) -> usize {
        self.engine.cache.context
    }
}

#[wasm_bindgen]
pub struct WebTextModel {
    model: TextModel,
}

#[wasm_bindgen]
impl WebTextModel {
    /// Attaches a PEFT adapter held in memory (LoRA pairs on the encoder's projections, and the
    /// task head saved with it, labelled by `task_config`'s id2label when it has other labels
    /// than the base's), inactive until `setAdapters` names it; `{ id, gpu_bytes }`.
    #[wasm_bindgen(js_name = loadAdapter)]
    pub fn load_adapter(
        &mut self,
        format: &str,
        weights: &[u8],
        config: Option<Vec<u8>>,
        task_config: Option<Vec<u8>>,
    ) -> Result<JsValue, JsValue> {
        let adapter = parse_adapter(format, weights, config, task_config)?;
        loaded_adapter(self.model.load_adapter(&adapter))
    }

    /// Frees adapter `id`'s GPU memory (an `AdapterError` for an id not loaded).
    #[wasm_bindgen(js_name = unloadAdapter)]
    pub fn unload_adapter(&mut self, id: u32) -> Result<(), JsValue> {
        self.model.unload_adapter(id).map_err(lora_error)
    }

    /// The adapters the following calls run with (`[{ id, scale }]`; empty: the base model).
    /// JS sets them inside each call's queued task (pkg/text_model.js).
    #[wasm_bindgen(js_name = setAdapters)]
    pub fn set_adapters(&mut self, active: JsValue) -> Result<(), JsValue> {
        let active: Vec<AdapterSpec> = from_js(active)?;
        self.model.set_adapters(&active).map_err(lora_error)
    }

    /// L2-normalised embeddings, one per text (`texts`: an array of strings).
    pub async fn embed(&self, texts: JsValue, truncate: bool) -> Result<JsValue, JsValue> {
        let texts: Vec<String> = from_js(texts)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let opts = EmbedOptions {
            truncate,
            batch_size: refs.len().clamp(1, 64),
            ..EmbedOptions::default()
        };
        let out = self.model.embed_async(&refs, &opts).await.map_err(analysis_error)?;
        to_js(&out)
    }

    pub async fn classify(&self, texts: JsValue, truncate: bool) -> Result<JsValue, JsValue> {
        let texts: Vec<String> = from_js(texts)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        to_js(
            &self
                .model
                .classify_async(&refs, truncate)
                .await
                .map_err(analysis_error)?,
        )
    }

    pub async fn ner(&self, texts: JsValue, aggregation: String, truncate: bool) -> Result<JsValue, JsValue> {
        let texts: Vec<String> = from_js(texts)?;
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let strategy = Aggregation::parse(&aggregation)
            .ok_or_else(|| js_error("ModelError", format!("unknown aggregation {aggregation:?}")))?;
        to_js(
            &self
                .model
                .entities_async(&refs, strategy, truncate)
                .await
                .map_err(analysis_error)?,
        )
    }

    pub async fn qa(&self, question: String, context: String, top_k: usize) -> Result<JsValue, JsValue> {
        let opts = QaOptions {
            top_k: top_k.max(1),
            ..QaOptions::default()
        };
        to_js(
            &self
                .model
                .answer_async(&question, &context, &opts)
                .await
                .map_err(analysis_error)?,
        )
    }
}

// ---------------------------------------------------------------- device loss (pkg/recovery.js)

#[wasm_bindgen]
impl WebEngine {
    /// Whether this engine's GPU device is lost: then every call fails with `DeviceLost`, and JS
    /// opens the model again on a new device (`pkg/recovery.js`).
    #[wasm_bindgen(js_name = isLost)]
    pub fn is_lost(&self) -> bool {
        self.engine.ctx.lost().is_some()
    }

    /// A handle on this engine's device that a generation in progress does not borrow, so a
    /// test can destroy the device in the middle of one (as `WEBGL_lose_context` does for WebGL).
    #[wasm_bindgen(js_name = deviceHandle)]
    pub fn device_handle(&self) -> WebDevice {
        WebDevice {
            device: self.engine.ctx.device.clone(),
        }
    }
}

/// See [`WebEngine::device_handle`].
#[wasm_bindgen]
pub struct WebDevice {
    device: wgpu::Device,
}

#[wasm_bindgen]
impl WebDevice {
    /// `GPUDevice.destroy()`: the device is lost, as after a driver reset.
    pub fn destroy(&self) {
        self.device.destroy();
    }
}
