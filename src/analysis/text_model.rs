//! An encoder model with its tokenizer on a GPU, and the four tasks run on it.

#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

#[cfg(not(target_arch = "wasm32"))]
use crate::gpu::GpuOptions;
use crate::gpu::{Batch, GpuContext};
use crate::kernels::pool::pool;
use crate::lora::{self, AdapterSpec, LoraAdapter, LoraError};
use crate::models::encoder::{Encoder, HeadKind};
use crate::ops::Pooling;

use super::AnalysisError;
#[cfg(not(target_arch = "wasm32"))]
use crate::models::{encoder::EncoderConfig, safetensors_source::SafetensorsSource};
use crate::tokenizer::Tokenizer;

use super::classify::{label_scores, LabelScore};
use super::inputs::{length_batches, pad, tokenize_pair_windows, tokenize_texts, Tokenized};
use super::l2_normalize;
use super::ner::{entities, Aggregation, Entity};
use super::qa::{answers, Answer, QaOptions};

#[derive(Clone, Debug)]
pub struct EmbedOptions {
    /// `None`: the model folder's `1_Pooling/config.json`, else mean pooling.
    pub pooling: Option<Pooling>,
    pub normalize: bool,
    pub truncate: bool,
    /// Most texts per forward pass.
    pub batch_size: usize,
}

/// Texts per forward pass for classification, tagging and QA windows: sentence-transformers'
/// default batch, which keeps activations small.
pub const DEFAULT_BATCH: usize = 32;

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            pooling: None,
            normalize: true,
            truncate: false,
            batch_size: DEFAULT_BATCH,
        }
    }
}

/// What one forward pass reads back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Pooled(Pooling),
    /// Sequence-classification logits.
    Sequence,
    /// Per-token logits (token classification, QA).
    Tokens,
}

pub struct TextModel {
    pub ctx: GpuContext,
    pub encoder: Encoder,
    pub tokenizer: Tokenizer,
    /// Longest input in tokens: sentence-transformers' `max_seq_length` when the folder has
    /// one, else the model's positions.
    pub max_len: usize,
    /// The folder's pooling (`1_Pooling/config.json`), mean when absent.
    pub pooling: Pooling,
    pad_id: u32,
    /// The id the next LoRA adapter gets (never reused within a model).
    next_adapter: u32,
}

#[cfg(not(target_arch = "wasm32"))]
fn read(path: &Path) -> Result<Vec<u8>, AnalysisError> {
    std::fs::read(path).map_err(|source| {
        AnalysisError::Model(crate::models::ModelError::Io {
            name: path.display().to_string(),
            source,
        })
    })
}

/// A JSON file of the folder if it exists and parses; sentence-transformers' extras are optional.
#[cfg(not(target_arch = "wasm32"))]
fn optional_json(path: &Path) -> Option<serde_json::Value> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl TextModel {
    /// Opens a model folder: `config.json`, `model.safetensors`, `tokenizer.json` (or a BERT
    /// `vocab.txt` with its `tokenizer_config.json`), and optionally sentence-transformers'
    /// `sentence_bert_config.json` and `1_Pooling/`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(dir: &Path, gpu: GpuOptions) -> Result<TextModel, AnalysisError> {
        let cfg = EncoderConfig::parse(&read(&dir.join("config.json"))?)?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(AnalysisError::Unsupported(format!(
                "{} has no model.safetensors (sharded encoders are not supported)",
                dir.display()
            )));
        }
        let mut src = SafetensorsSource::open(&weights)?;
        let tokenizer = Tokenizer::from_model_path(dir)?;
        let ctx = GpuContext::new_blocking(gpu)?;
        let encoder = Encoder::load(&ctx, cfg, &mut src)?;
        let st_max = optional_json(&dir.join("sentence_bert_config.json"))
            .and_then(|v| v.get("max_seq_length")?.as_u64())
            .map(|n| n as usize);
        // The shortest of the model's positions, sentence-transformers' max_seq_length and a
        // vocab.txt tokenizer's model_max_length (transformers truncates to the latter).
        let max_len = [st_max, tokenizer.model_max_length()]
            .into_iter()
            .flatten()
            .fold(encoder.cfg.max_positions, usize::min);
        let pooling = sentence_transformers_pooling(dir)?;
        Ok(Self::new(ctx, encoder, tokenizer, max_len, pooling))
    }

    /// A model already on `ctx` (the browser build loads weights itself).
    pub fn new(ctx: GpuContext, encoder: Encoder, tokenizer: Tokenizer, max_len: usize, pooling: Pooling) -> TextModel {
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        TextModel {
            ctx,
            encoder,
            tokenizer,
            max_len,
            pooling,
            pad_id,
            next_adapter: 0,
        }
    }

    /// Attaches a LoRA adapter (PEFT folder, with its task head if it saved one): checked against
    /// the encoder, uploaded once, inactive until [`TextModel::set_adapters`] names it. Returns
    /// its id and the GPU bytes it added.
    pub fn load_adapter(&mut self, adapter: &LoraAdapter) -> Result<(u32, u64), LoraError> {
        let id = self.next_adapter;
        let bytes = lora::attach_encoder(&self.ctx, &mut self.encoder, adapter, id)?;
        self.next_adapter += 1;
        Ok((id, bytes))
    }

    /// The adapters the next calls run with (empty: the base model). Uploads nothing.
    pub fn set_adapters(&mut self, active: &[AdapterSpec]) -> Result<(), LoraError> {
        lora::set_active_encoder(&mut self.encoder, active)
    }

    /// Frees adapter `id`'s GPU memory (it stops running if it was active).
    pub fn unload_adapter(&mut self, id: u32) -> Result<(), LoraError> {
        if lora::detach_encoder(&mut self.encoder, id) {
            Ok(())
        } else {
            Err(LoraError::UnknownId(id))
        }
    }

    fn require(&self, kind: HeadKind) -> Result<(), AnalysisError> {
        if self.encoder.head.kind == kind {
            return Ok(());
        }
        Err(AnalysisError::NoHead {
            architecture: self.encoder.cfg.architecture.clone(),
            task: kind.task_name(),
        })
    }

    /// Tokenizes single texts for this model.
    pub fn tokenize(&self, texts: &[&str], truncate: bool) -> Result<Vec<Tokenized>, AnalysisError> {
        tokenize_texts(&self.tokenizer, texts, self.max_len, truncate)
    }

    /// Runs `inputs` as one padded batch. Returns per input: the pooled vector, the sequence
    /// logits, or its tokens' logits (`[len, outputs]`, padding dropped).
    async fn run(&self, inputs: &[&Tokenized], output: Output) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let p = pad(inputs, self.pad_id);
        let enc = &self.encoder;
        let input = enc.upload_batch(&self.ctx, (p.batch, p.seq), &p.ids, &p.type_ids, &p.mask)?;
        let mut batch = Batch::new(&self.ctx)?;
        let hidden = enc.forward(&mut batch, &input)?;
        let (out, width) = match output {
            Output::Pooled(mode) => (
                pool(&mut batch, &hidden, &input.mask, (p.batch, p.seq, enc.cfg.hidden), mode)?,
                enc.cfg.hidden,
            ),
            Output::Sequence => (
                enc.head.sequence_logits(&mut batch, &enc.cfg, &hidden, &input)?,
                enc.head.n_outputs(),
            ),
            Output::Tokens => (enc.head.token_logits(&mut batch, &hidden)?, enc.head.n_outputs()),
        };
        let bits = batch.submit_and_read(&[&out]).await?.pop().unwrap_or_default();
        let values: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
        let rows_per_input = match output {
            Output::Tokens => p.seq,
            _ => 1,
        };
        inputs
            .iter()
            .enumerate()
            .map(|(b, t)| {
                let keep = match output {
                    Output::Tokens => t.len(),
                    _ => 1,
                };
                let begin = b * rows_per_input * width;
                values
                    .get(begin..begin + keep * width)
                    .map(<[f32]>::to_vec)
                    .ok_or(AnalysisError::ShortReadback { got: values.len() })
            })
            .collect()
    }

    /// [`TextModel::run`] over length-sorted batches of at most `batch_size`, in input order.
    pub async fn run_batched(
        &self,
        inputs: &[Tokenized],
        output: Output,
        batch_size: usize,
    ) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let lengths: Vec<usize> = inputs.iter().map(Tokenized::len).collect();
        let mut out = vec![Vec::new(); inputs.len()];
        for group in length_batches(&lengths, batch_size) {
            let refs: Vec<&Tokenized> = group.iter().map(|&i| &inputs[i]).collect();
            for (i, v) in group.iter().zip(self.run(&refs, output).await?) {
                out[*i] = v;
            }
        }
        Ok(out)
    }

    /// One embedding per text (sentence-transformers' `encode`).
    pub async fn embed_async(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let inputs = self.tokenize(texts, opts.truncate)?;
        let pooling = opts.pooling.unwrap_or(self.pooling);
        let mut out = self
            .run_batched(&inputs, Output::Pooled(pooling), opts.batch_size)
            .await?;
        if opts.normalize {
            out.iter_mut().for_each(|v| l2_normalize(v));
        }
        Ok(out)
    }

    /// Raw logits per input: `[labels]` for sequence classification, `[len, outputs]` for
    /// token classification and QA (tests compare these with transformers).
    pub async fn logits_async(&self, inputs: &[Tokenized], batch_size: usize) -> Result<Vec<Vec<f32>>, AnalysisError> {
        let kind = match self.encoder.head.kind {
            HeadKind::SequenceClassification => Output::Sequence,
            HeadKind::TokenClassification | HeadKind::QuestionAnswering => Output::Tokens,
            HeadKind::None => {
                return Err(AnalysisError::NoHead {
                    architecture: self.encoder.cfg.architecture.clone(),
                    task: "logits",
                })
            }
        };
        self.run_batched(inputs, kind, batch_size).await
    }

    /// Every label with its score, highest first, per text.
    pub async fn classify_async(&self, texts: &[&str], truncate: bool) -> Result<Vec<Vec<LabelScore>>, AnalysisError> {
        self.require(HeadKind::SequenceClassification)?;
        let inputs = self.tokenize(texts, truncate)?;
        let head = &self.encoder.head;
        Ok(self
            .logits_async(&inputs, DEFAULT_BATCH)
            .await?
            .iter()
            .map(|l| label_scores(l, head.labels(), self.encoder.cfg.problem))
            .collect())
    }

    /// Entities per text.
    pub async fn entities_async(
        &self,
        texts: &[&str],
        strategy: Aggregation,
        truncate: bool,
    ) -> Result<Vec<Vec<Entity>>, AnalysisError> {
        self.require(HeadKind::TokenClassification)?;
        let inputs = self.tokenize(texts, truncate)?;
        let logits = self.logits_async(&inputs, DEFAULT_BATCH).await?;
        let labels = self.encoder.head.labels();
        Ok(texts
            .iter()
            .zip(&inputs)
            .zip(&logits)
            .map(|((text, t), l)| entities(text, t, l, labels, strategy))
            .collect())
    }

    /// The best answers to `question` in `context`.
    pub async fn answer_async(
        &self,
        question: &str,
        context: &str,
        opts: &QaOptions,
    ) -> Result<Vec<Answer>, AnalysisError> {
        self.require(HeadKind::QuestionAnswering)?;
        if question.trim().is_empty() || context.trim().is_empty() {
            return Err(AnalysisError::EmptyInput(
                "question answering needs a question and a context",
            ));
        }
        let (len, stride) = opts.windowing(self.encoder.cfg.max_positions);
        let windows = tokenize_pair_windows(&self.tokenizer, question, context, len, stride)?;
        let logits = self.logits_async(&windows, DEFAULT_BATCH).await?;
        let split: Vec<(Vec<f32>, Vec<f32>)> = logits
            .iter()
            .map(|l| {
                (
                    l.iter().step_by(2).copied().collect(),
                    l.iter().skip(1).step_by(2).copied().collect(),
                )
            })
            .collect();
        let per_window: Vec<(&Tokenized, &[f32], &[f32])> = windows
            .iter()
            .zip(&split)
            .map(|(w, (s, e))| (w, s.as_slice(), e.as_slice()))
            .collect();
        Ok(answers(context, &per_window, opts))
    }
}

/// The pooling a sentence-transformers folder asks for in `modules.json` (mean when the folder
/// has none). Modules and pooling modes webslm does not run are errors, not silently skipped:
/// a `Dense` layer or max pooling would change every embedding.
#[cfg(not(target_arch = "wasm32"))]
fn sentence_transformers_pooling(dir: &Path) -> Result<Pooling, AnalysisError> {
    #[derive(serde::Deserialize)]
    struct Module {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        path: String,
    }
    let Some(modules) = optional_json(&dir.join("modules.json")) else {
        return Ok(Pooling::Mean);
    };
    let modules: Vec<Module> =
        serde_json::from_value(modules).map_err(|e| AnalysisError::Unsupported(format!("modules.json: {e}")))?;
    let mut pooling = Pooling::Mean;
    for m in modules {
        match m.kind.rsplit('.').next().unwrap_or_default() {
            "Transformer" | "Normalize" => {}
            "Pooling" => {
                let cfg = optional_json(&dir.join(&m.path).join("config.json")).unwrap_or_default();
                let on = |k: &str| cfg.get(k).and_then(serde_json::Value::as_bool).unwrap_or(false);
                let others = [
                    "pooling_mode_max_tokens",
                    "pooling_mode_mean_sqrt_len_tokens",
                    "pooling_mode_weightedmean_tokens",
                    "pooling_mode_lasttoken",
                ];
                if let Some(mode) = others.iter().find(|k| on(k)) {
                    return Err(AnalysisError::Unsupported(format!(
                        "sentence-transformers pooling {mode} is not supported (mean and cls are)"
                    )));
                }
                pooling = match (on("pooling_mode_cls_token"), on("pooling_mode_mean_tokens")) {
                    (true, true) => {
                        return Err(AnalysisError::Unsupported(
                            "concatenated cls + mean pooling is not supported".into(),
                        ))
                    }
                    (true, false) => Pooling::First,
                    _ => Pooling::Mean,
                };
            }
            _ => {
                return Err(AnalysisError::Unsupported(format!(
                    "sentence-transformers module {} is not supported",
                    m.kind
                )))
            }
        }
    }
    Ok(pooling)
}

/// The tasks, waiting for the GPU (native only; the browser awaits the `_async` versions).
#[cfg(not(target_arch = "wasm32"))]
impl TextModel {
    pub fn embed(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Vec<Vec<f32>>, AnalysisError> {
        pollster::block_on(self.embed_async(texts, opts))
    }

    pub fn logits(&self, inputs: &[Tokenized], batch_size: usize) -> Result<Vec<Vec<f32>>, AnalysisError> {
        pollster::block_on(self.logits_async(inputs, batch_size))
    }

    pub fn classify(&self, texts: &[&str], truncate: bool) -> Result<Vec<Vec<LabelScore>>, AnalysisError> {
        pollster::block_on(self.classify_async(texts, truncate))
    }

    pub fn entities(
        &self,
        texts: &[&str],
        strategy: Aggregation,
        truncate: bool,
    ) -> Result<Vec<Vec<Entity>>, AnalysisError> {
        pollster::block_on(self.entities_async(texts, strategy, truncate))
    }

    pub fn answer(&self, question: &str, context: &str, opts: &QaOptions) -> Result<Vec<Answer>, AnalysisError> {
        pollster::block_on(self.answer_async(question, context, opts))
    }
}
