//! Encoder-only transformers: BERT (and MiniLM, which is a small BERT), DistilBERT and
//! MobileBERT, with their task heads. Loaded from a safetensors model folder.
//!
//! ```text
//! x = norm(word[ids] + pos[t] (+ type[type_ids]))          (MobileBERT: see mobilebert.rs)
//! for each layer (post-norm):
//!     a = attention(x Wq + bq, x Wk + bk, x Wv + bv, mask) Wo + bo
//!     x = norm(x + a)
//!     x = norm(x + act(x W1 + b1) W2 + b2)
//! head(x)                                                    (heads.rs)
//! ```
//! Attention is bidirectional; padded positions are masked out as keys, and their own outputs
//! are garbage that pooling and the heads ignore.

pub mod config;
pub mod heads;
mod mobilebert;

pub use config::EncoderConfig;
pub use heads::{Head, HeadKind};

use crate::formats::hf_config::ModelFamily;
use crate::gpu::{Batch, GpuContext, GpuError, GpuTensor};
use crate::kernels::attention::attention;
use crate::kernels::elementwise::{elementwise, Op};
use crate::kernels::embedding::embedding;
use crate::kernels::norm::norm;
use crate::kernels::GpuWeight;
use crate::ops::AttentionParams;
use crate::ops::NormKind;

pub use super::linear::Linear;
use super::tensor_source::TensorSource;
use super::ModelError;

/// A LayerNorm (or MobileBERT NoNorm) with weight and bias.
pub struct Norm {
    kind: NormKind,
    w: GpuTensor,
    b: GpuTensor,
    eps: f32,
}

impl Norm {
    /// `{name}.weight`/`.bias`, or the `gamma`/`beta` of older BERT checkpoints.
    pub fn load(
        ctx: &GpuContext,
        src: &mut dyn TensorSource,
        name: &str,
        dim: usize,
        cfg: &EncoderConfig,
    ) -> Result<Norm, ModelError> {
        Self::load_eps(ctx, src, name, dim, cfg, cfg.eps)
    }

    /// As [`Norm::load`] with an explicit epsilon (MobileBERT builds two of its LayerNorms
    /// without passing `layer_norm_eps`, so they keep torch's 1e-5).
    pub fn load_eps(
        ctx: &GpuContext,
        src: &mut dyn TensorSource,
        name: &str,
        dim: usize,
        cfg: &EncoderConfig,
        eps: f32,
    ) -> Result<Norm, ModelError> {
        let (w, b) = (format!("{name}.weight"), format!("{name}.bias"));
        let (gamma, beta) = (format!("{name}.gamma"), format!("{name}.beta"));
        let w = src.first_of(&[&w, &gamma]).unwrap_or(&w).to_string();
        let b = src.first_of(&[&b, &beta]).unwrap_or(&b).to_string();
        Ok(Norm {
            kind: cfg.norm,
            w: src.vector(ctx, &w, dim)?,
            b: src.vector(ctx, &b, dim)?,
            eps,
        })
    }

    pub fn forward(&self, batch: &mut Batch<'_>, x: &GpuTensor) -> Result<GpuTensor, GpuError> {
        norm(batch, self.kind, x, &self.w, Some(&self.b), self.eps)
    }

    /// `norm(x + residual)`, the post-norm residual step.
    pub fn add_forward(
        &self,
        batch: &mut Batch<'_>,
        x: &GpuTensor,
        residual: &GpuTensor,
    ) -> Result<GpuTensor, GpuError> {
        let sum = elementwise(batch, Op::Add, x, Some(residual))?;
        self.forward(batch, &sum)
    }
}

/// One BERT/DistilBERT block.
struct BertLayer {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    attn_norm: Norm,
    ffn_up: Linear,
    ffn_down: Linear,
    ffn_norm: Norm,
}

enum Layers {
    Bert(Vec<BertLayer>),
    Mobile(Vec<mobilebert::MobileLayer>),
}

struct Embeddings {
    word: GpuWeight,
    position: GpuWeight,
    token_type: Option<GpuWeight>,
    /// MobileBERT: the trigram input projected from `3 * embedding_size` to hidden.
    transformation: Option<Linear>,
    norm: Norm,
}

/// A padded batch of token ids on the GPU, `[batch, seq]` each.
pub struct EncoderBatch {
    pub batch: usize,
    pub seq: usize,
    ids: GpuTensor,
    type_ids: GpuTensor,
    positions: GpuTensor,
    /// 1 for real tokens, 0 for padding.
    pub mask: GpuTensor,
}

pub struct Encoder {
    pub cfg: EncoderConfig,
    /// The base model's tensor-name prefix (`bert.`, `distilbert.`, `mobilebert.`, or none).
    pub prefix: &'static str,
    embeddings: Embeddings,
    layers: Layers,
    pub head: Head,
}

/// A BERT block's eight modules under the family's names (DistilBERT names them its own way),
/// and the path of the layer list.
fn bert_names(family: ModelFamily) -> ([&'static str; 8], &'static str) {
    if family == ModelFamily::DistilBert {
        let names = [
            "attention.q_lin",
            "attention.k_lin",
            "attention.v_lin",
            "attention.out_lin",
            "sa_layer_norm",
            "ffn.lin1",
            "ffn.lin2",
            "output_layer_norm",
        ];
        (names, "transformer.layer")
    } else {
        let names = [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ];
        (names, "encoder.layer")
    }
}

/// The tensor-name prefix of the base model: `bert.` in task checkpoints, nothing in a bare
/// `BertModel` (all-MiniLM-L6-v2).
fn base_prefix(src: &dyn TensorSource, family: ModelFamily) -> Result<&'static str, ModelError> {
    let candidates: &[&'static str] = match family {
        ModelFamily::DistilBert => &["distilbert.", ""],
        ModelFamily::MobileBert => &["mobilebert.", ""],
        _ => &["bert.", ""],
    };
    candidates
        .iter()
        .copied()
        .find(|p| src.has(&format!("{p}embeddings.word_embeddings.weight")))
        .ok_or_else(|| {
            ModelError::Config(format!(
                "no {}embeddings.word_embeddings.weight in the safetensors file: not a {family:?} checkpoint",
                candidates[0]
            ))
        })
}

impl Encoder {
    /// Uploads every tensor of the checkpoint, checking each shape against the config.
    pub fn load(ctx: &GpuContext, cfg: EncoderConfig, src: &mut dyn TensorSource) -> Result<Encoder, ModelError> {
        let p = base_prefix(src, cfg.family)?;
        let embeddings = Self::load_embeddings(ctx, &cfg, src, p)?;
        let layers = match cfg.family {
            ModelFamily::MobileBert => Layers::Mobile(
                (0..cfg.n_layer)
                    .map(|l| mobilebert::MobileLayer::load(ctx, &cfg, src, &format!("{p}encoder.layer.{l}")))
                    .collect::<Result<_, _>>()?,
            ),
            _ => Layers::Bert(
                (0..cfg.n_layer)
                    .map(|l| Self::load_bert_layer(ctx, &cfg, src, p, l))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let head = Head::load(ctx, &cfg, src, p)?;
        Ok(Encoder {
            cfg,
            prefix: p,
            embeddings,
            layers,
            head,
        })
    }

    fn load_embeddings(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        p: &str,
    ) -> Result<Embeddings, ModelError> {
        let n = |s: &str| format!("{p}embeddings.{s}");
        let word_width = cfg.mobile.as_ref().map_or(cfg.hidden, |m| m.embedding_size);
        let transformation = match &cfg.mobile {
            Some(m) if m.trigram_input || m.embedding_size != cfg.hidden => {
                let inp = if m.trigram_input { 3 } else { 1 } * m.embedding_size;
                Some(Linear::load(
                    ctx,
                    src,
                    &n("embedding_transformation"),
                    (cfg.hidden, inp),
                    true,
                )?)
            }
            _ => None,
        };
        let token_type = match cfg.type_vocab {
            0 => None,
            t => Some(src.matrix(ctx, &n("token_type_embeddings.weight"), t, cfg.hidden)?),
        };
        Ok(Embeddings {
            word: src.matrix(ctx, &n("word_embeddings.weight"), cfg.vocab, word_width)?,
            position: src.matrix(ctx, &n("position_embeddings.weight"), cfg.max_positions, cfg.hidden)?,
            token_type,
            transformation,
            norm: Norm::load_eps(ctx, src, &n("LayerNorm"), cfg.hidden, cfg, cfg.unpassed_eps())?,
        })
    }

    fn load_bert_layer(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        p: &str,
        l: usize,
    ) -> Result<BertLayer, ModelError> {
        let (h, f) = (cfg.hidden, cfg.intermediate);
        let (names, block) = bert_names(cfg.family);
        let n = |i: usize| format!("{p}{block}.{l}.{}", names[i]);
        Ok(BertLayer {
            q: Linear::load(ctx, src, &n(0), (h, h), true)?,
            k: Linear::load(ctx, src, &n(1), (h, h), true)?,
            v: Linear::load(ctx, src, &n(2), (h, h), true)?,
            out: Linear::load(ctx, src, &n(3), (h, h), true)?,
            attn_norm: Norm::load(ctx, src, &n(4), h, cfg)?,
            ffn_up: Linear::load(ctx, src, &n(5), (f, h), true)?,
            ffn_down: Linear::load(ctx, src, &n(6), (h, f), true)?,
            ffn_norm: Norm::load(ctx, src, &n(7), h, cfg)?,
        })
    }

    /// Every projection under its HF module name (`bert.encoder.layer.0.attention.self.query`,
    /// `classifier`), the names PEFT adapters target; the base head's layers last.
    pub fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        let p = self.prefix;
        let mut out = Vec::new();
        if let Some(t) = self.embeddings.transformation.as_mut() {
            out.push((format!("{p}embeddings.embedding_transformation"), t));
        }
        match &mut self.layers {
            Layers::Bert(layers) => {
                let (names, block) = bert_names(self.cfg.family);
                for (l, layer) in layers.iter_mut().enumerate() {
                    let lins = [
                        (0, &mut layer.q),
                        (1, &mut layer.k),
                        (2, &mut layer.v),
                        (3, &mut layer.out),
                        (5, &mut layer.ffn_up),
                        (6, &mut layer.ffn_down),
                    ];
                    out.extend(
                        lins.into_iter()
                            .map(|(i, lin)| (format!("{p}{block}.{l}.{}", names[i]), lin)),
                    );
                }
            }
            Layers::Mobile(layers) => {
                for (l, layer) in layers.iter_mut().enumerate() {
                    out.extend(layer.linears_mut(&format!("{p}encoder.layer.{l}")));
                }
            }
        }
        out.extend(self.head.base_linears_mut());
        out
    }

    /// Checks and uploads a padded batch: `ids`, `type_ids` and `mask` are `[batch, seq]`.
    pub fn upload_batch(
        &self,
        ctx: &GpuContext,
        (batch, seq): (usize, usize),
        ids: &[u32],
        type_ids: &[u32],
        mask: &[u32],
    ) -> Result<EncoderBatch, ModelError> {
        let n = batch * seq;
        if batch == 0 || seq == 0 || ids.len() != n || type_ids.len() != n || mask.len() != n {
            return Err(ModelError::BatchShape { batch, seq });
        }
        if seq > self.cfg.max_positions {
            return Err(ModelError::SequenceTooLong {
                tokens: seq,
                max: self.cfg.max_positions,
            });
        }
        if let Some(&id) = ids.iter().find(|&&i| i as usize >= self.cfg.vocab) {
            return Err(ModelError::TokenOutOfVocab {
                id,
                vocab: self.cfg.vocab,
            });
        }
        // A model without token types (DistilBERT) ignores them, as transformers does: its
        // tokenizer still marks the second text of a pair with type 1.
        if let Some(&id) = type_ids
            .iter()
            .find(|&&t| self.cfg.type_vocab > 0 && t as usize >= self.cfg.type_vocab)
        {
            return Err(ModelError::TokenTypeOutOfRange {
                id,
                types: self.cfg.type_vocab,
            });
        }
        let positions: Vec<u32> = (0..n).map(|i| (i % seq) as u32).collect();
        let shape = [batch, seq];
        Ok(EncoderBatch {
            batch,
            seq,
            ids: ctx.upload_u32(ids, &shape)?,
            type_ids: ctx.upload_u32(type_ids, &shape)?,
            positions: ctx.upload_u32(&positions, &shape)?,
            mask: ctx.upload_u32(mask, &shape)?,
        })
    }

    /// Records the forward pass; returns the last hidden states `[batch, seq, hidden]`.
    pub fn forward(&self, batch: &mut Batch<'_>, input: &EncoderBatch) -> Result<GpuTensor, GpuError> {
        let mut x = self.embed(batch, input)?;
        match &self.layers {
            Layers::Bert(layers) => {
                for layer in layers {
                    x = self.bert_layer(batch, layer, &x, input)?;
                }
            }
            Layers::Mobile(layers) => {
                for layer in layers {
                    x = layer.forward(batch, &self.cfg, &x, input)?;
                }
            }
        }
        Ok(x)
    }

    fn embed(&self, batch: &mut Batch<'_>, input: &EncoderBatch) -> Result<GpuTensor, GpuError> {
        let e = &self.embeddings;
        let mut x = embedding(batch, &e.word, &input.ids)?;
        if let (Some(t), Some(m)) = (&e.transformation, &self.cfg.mobile) {
            if m.trigram_input {
                let dims = (input.batch, input.seq, m.embedding_size);
                x = crate::kernels::pool::trigram(batch, &x, &input.mask, dims)?;
            }
            x = t.forward(batch, &x)?;
        }
        let pos = embedding(batch, &e.position, &input.positions)?;
        x = elementwise(batch, Op::Add, &x, Some(&pos))?;
        if let Some(table) = &e.token_type {
            let types = embedding(batch, table, &input.type_ids)?;
            x = elementwise(batch, Op::Add, &x, Some(&types))?;
        }
        e.norm.forward(batch, &x)
    }

    fn bert_layer(
        &self,
        batch: &mut Batch<'_>,
        l: &BertLayer,
        x: &GpuTensor,
        input: &EncoderBatch,
    ) -> Result<GpuTensor, GpuError> {
        let (q, k, v) = (l.q.forward(batch, x)?, l.k.forward(batch, x)?, l.v.forward(batch, x)?);
        let a = self_attention(batch, &self.cfg, (&q, &k, &v), input)?;
        let a = l.out.forward(batch, &a)?;
        let x = l.attn_norm.add_forward(batch, &a, x)?;
        let h = l.ffn_up.forward_act(batch, &x, self.cfg.act)?;
        let h = l.ffn_down.forward(batch, &h)?;
        l.ffn_norm.add_forward(batch, &h, &x)
    }
}

/// Bidirectional multi-head attention over each padded sequence, with padding keys masked.
fn self_attention(
    batch: &mut Batch<'_>,
    cfg: &EncoderConfig,
    (q, k, v): (&GpuTensor, &GpuTensor, &GpuTensor),
    input: &EncoderBatch,
) -> Result<GpuTensor, GpuError> {
    let head_dim = cfg.head_dim();
    let p = AttentionParams {
        batch: input.batch,
        q_len: input.seq,
        kv_len: input.seq,
        kv_cap: input.seq,
        n_head: cfg.n_head,
        n_kv_head: cfg.n_head,
        head_dim,
        pos0: 0,
        causal: false,
        window: 0,
        softcap: 0.0,
        scale: 1.0 / (head_dim as f32).sqrt(),
    };
    attention(batch, q, k, v, Some(&input.mask), &p)
}
