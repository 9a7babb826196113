//! The forward pass shared by every decoder family: a pre-norm transformer.
//!
//! ```text
//! x = embed(ids) [* sqrt(n_embd)]
//! for each layer:
//!     h = norm(x);  q, k, v = h Wq (+bq), h Wk (+bk), h Wv (+bv)
//!     [q, k = rmsnorm per head]; q, k = rope(q, k); cache k, v
//!     a = attention(q, K, V) Wo;  [a = norm(a)];  x = x + a
//!     h = norm(x);  f = (act(h Wgate) * h Wup) Wdown;  [f = norm(f)];  x = x + f
//! logits = norm(x) Wout        (Wout = Wembed when tied)
//! ```
//! Bracketed steps are the family knobs of [`DecoderConfig`].

use crate::cpu::attention::AttentionParams;
use crate::gpu::{Batch, DType, GpuContext, GpuTensor};
use crate::kernels::elementwise::{elementwise, Op};
use crate::kernels::matmul::matmul_new;
use crate::kernels::norm::norm;
use crate::kernels::rope::rope;
use crate::kernels::{attention::attention, embedding::embedding, GpuWeight};

use super::config::RopeScaling;
use super::source::GgufSource;
use super::{config_from_gguf, DecoderConfig, KvCache, ModelError};

/// One transformer block. Shapes are `[rows, k]` (a Linear weight: out x in).
pub struct Layer {
    pub attn_norm: GpuTensor,              // [n_embd]
    pub wq: GpuWeight,                     // [n_head * head_dim, n_embd]
    pub wk: GpuWeight,                     // [n_kv_head * head_dim, n_embd]
    pub wv: GpuWeight,                     // [n_kv_head * head_dim, n_embd]
    pub bias: Option<[GpuTensor; 3]>,      // q, k, v biases (Qwen2)
    pub qk_norm: Option<[GpuTensor; 2]>,   // [head_dim] each (Gemma 3)
    pub wo: GpuWeight,                     // [n_embd, n_head * head_dim]
    pub post_attn_norm: Option<GpuTensor>, // [n_embd] (Gemma)
    pub ffn_norm: GpuTensor,               // [n_embd]
    pub w_gate: GpuWeight,                 // [n_ff, n_embd]
    pub w_up: GpuWeight,                   // [n_ff, n_embd]
    pub w_down: GpuWeight,                 // [n_embd, n_ff]
    pub post_ffn_norm: Option<GpuTensor>,  // [n_embd] (Gemma)
}

pub struct Decoder {
    pub cfg: DecoderConfig,
    pub tok_embd: GpuWeight, // [vocab, n_embd]
    pub layers: Vec<Layer>,
    pub out_norm: GpuTensor,       // [n_embd]
    pub output: Option<GpuWeight>, // [vocab, n_embd]; None when tied to tok_embd
    inv_freq_global: GpuTensor,    // [rope_dims / 2]
    inv_freq_local: GpuTensor,     // [rope_dims / 2]
}

impl Decoder {
    /// Loads every tensor of a GGUF decoder onto the GPU, checking each shape.
    pub fn load(ctx: &GpuContext, src: &mut GgufSource) -> Result<Self, ModelError> {
        let mut cfg = config_from_gguf(&src.gguf)?;
        if let RopeScaling::FreqFactors(f) = &mut cfg.rope_scaling {
            *f = src.vector_f32("rope_freqs.weight", cfg.rope_dims / 2)?;
        }
        cfg.validate()?;
        let c = &cfg;
        let (q_rows, kv_rows) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        let mut layers = Vec::with_capacity(c.n_layer);
        for l in 0..c.n_layer {
            let n = |s: &str| format!("blk.{l}.{s}");
            let bias = if c.qkv_bias {
                Some([
                    src.vector(ctx, &n("attn_q.bias"), q_rows)?,
                    src.vector(ctx, &n("attn_k.bias"), kv_rows)?,
                    src.vector(ctx, &n("attn_v.bias"), kv_rows)?,
                ])
            } else {
                None
            };
            let qk_norm = if c.qk_norm {
                Some([
                    src.vector(ctx, &n("attn_q_norm.weight"), c.head_dim)?,
                    src.vector(ctx, &n("attn_k_norm.weight"), c.head_dim)?,
                ])
            } else {
                None
            };
            let post = |src: &mut GgufSource, name: &str| -> Result<Option<GpuTensor>, ModelError> {
                if c.post_norms {
                    Ok(Some(src.vector(ctx, &n(name), c.n_embd)?))
                } else {
                    Ok(None)
                }
            };
            layers.push(Layer {
                attn_norm: src.vector(ctx, &n("attn_norm.weight"), c.n_embd)?,
                wq: src.matrix(ctx, &n("attn_q.weight"), q_rows, c.n_embd)?,
                wk: src.matrix(ctx, &n("attn_k.weight"), kv_rows, c.n_embd)?,
                wv: src.matrix(ctx, &n("attn_v.weight"), kv_rows, c.n_embd)?,
                bias,
                qk_norm,
                wo: src.matrix(ctx, &n("attn_output.weight"), c.n_embd, q_rows)?,
                post_attn_norm: post(src, "post_attention_norm.weight")?,
                ffn_norm: src.vector(ctx, &n("ffn_norm.weight"), c.n_embd)?,
                w_gate: src.matrix(ctx, &n("ffn_gate.weight"), c.n_ff, c.n_embd)?,
                w_up: src.matrix(ctx, &n("ffn_up.weight"), c.n_ff, c.n_embd)?,
                w_down: src.matrix(ctx, &n("ffn_down.weight"), c.n_embd, c.n_ff)?,
                post_ffn_norm: post(src, "post_ffw_norm.weight")?,
            });
        }
        let output = if src.has("output.weight") {
            Some(src.matrix(ctx, "output.weight", c.vocab, c.n_embd)?)
        } else {
            None
        };
        let half = c.rope_dims / 2;
        Ok(Decoder {
            tok_embd: src.matrix(ctx, "token_embd.weight", c.vocab, c.n_embd)?,
            out_norm: src.vector(ctx, "output_norm.weight", c.n_embd)?,
            output,
            inv_freq_global: ctx.upload_f32(&c.inv_freq(false), &[half])?,
            inv_freq_local: ctx.upload_f32(&c.inv_freq(true), &[half])?,
            layers,
            cfg,
        })
    }

    /// GPU memory held by the weights, in bytes.
    pub fn weight_bytes(&self) -> u64 {
        let m = |w: &GpuWeight| w.size_bytes();
        let layers: u64 = self
            .layers
            .iter()
            .map(|l| m(&l.wq) + m(&l.wk) + m(&l.wv) + m(&l.wo) + m(&l.w_gate) + m(&l.w_up) + m(&l.w_down))
            .sum();
        layers + m(&self.tok_embd) + self.output.as_ref().map_or(0, m)
    }

    /// Records the forward pass of `ids` (u32, at positions `cache.len()..`), appends them to the
    /// cache, and returns logits: `[1, vocab]` for the last token, or `[n, vocab]` for all.
    pub fn forward(
        &self,
        batch: &mut Batch<'_>,
        cache: &mut KvCache,
        ids: &GpuTensor,
        new_tokens: &[u32],
        all_logits: bool,
    ) -> Result<GpuTensor, ModelError> {
        let c = &self.cfg;
        let n = new_tokens.len();
        let pos0 = cache.len();
        if n == 0 || n > cache.max_chunk {
            return Err(ModelError::Config(format!(
                "forward takes 1..={} tokens, got {n}",
                cache.max_chunk
            )));
        }
        if pos0 + n > cache.context {
            return Err(ModelError::ContextOverflow {
                needed: pos0 + n,
                context: cache.context,
            });
        }
        if let Some(&bad) = new_tokens.iter().find(|&&t| t as usize >= c.vocab) {
            return Err(ModelError::Config(format!(
                "token id {bad} is outside the vocabulary of {}",
                c.vocab
            )));
        }
        let mut x = embedding(batch, &self.tok_embd, ids)?;
        if let Some(s) = c.embed_scale {
            x = elementwise(batch, Op::Scale(s), &x, None)?;
        }
        for (l, layer) in self.layers.iter().enumerate() {
            x = self.block(batch, cache, l, layer, x, pos0, n)?;
        }
        let x = norm(batch, c.norm, &x, &self.out_norm, None, c.norm_eps)?;
        let x = if all_logits {
            x
        } else {
            last_row(batch, &x, n, c.n_embd)?
        };
        let head = self.output.as_ref().unwrap_or(&self.tok_embd);
        let logits = matmul_new(batch, &x, head)?;
        cache.tokens.extend_from_slice(new_tokens);
        Ok(logits)
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        batch: &mut Batch<'_>,
        cache: &KvCache,
        l: usize,
        layer: &Layer,
        x: GpuTensor,
        pos0: usize,
        n: usize,
    ) -> Result<GpuTensor, ModelError> {
        let c = &self.cfg;
        let local = c.local_layers[l];
        // Attention.
        let h = norm(batch, c.norm, &x, &layer.attn_norm, None, c.norm_eps)?;
        let (mut q, mut k, mut v) = (
            matmul_new(batch, &h, &layer.wq)?,
            matmul_new(batch, &h, &layer.wk)?,
            matmul_new(batch, &h, &layer.wv)?,
        );
        if let Some([bq, bk, bv]) = &layer.bias {
            q = elementwise(batch, Op::AddRowBias, &q, Some(bq))?;
            k = elementwise(batch, Op::AddRowBias, &k, Some(bk))?;
            v = elementwise(batch, Op::AddRowBias, &v, Some(bv))?;
        }
        if let Some([qn, kn]) = &layer.qk_norm {
            q = norm(batch, c.norm, &q, qn, None, c.norm_eps)?;
            k = norm(batch, c.norm, &k, kn, None, c.norm_eps)?;
        }
        let inv_freq = if local {
            &self.inv_freq_local
        } else {
            &self.inv_freq_global
        };
        rope(batch, &q, c.n_head, c.head_dim, inv_freq, pos0 as u32, c.rope_layout)?;
        rope(batch, &k, c.n_kv_head, c.head_dim, inv_freq, pos0 as u32, c.rope_layout)?;
        cache.write(batch, l, &k, &v, pos0, n)?;
        let lc = &cache.layers[l];
        let p = AttentionParams {
            batch: 1,
            q_len: n,
            kv_len: pos0 + n,
            kv_cap: lc.cap,
            n_head: c.n_head,
            n_kv_head: c.n_kv_head,
            head_dim: c.head_dim,
            pos0: pos0 as u32,
            causal: true,
            window: if local { c.sliding_window as u32 } else { 0 },
            softcap: c.attn_softcap,
            scale: c.attn_scale,
        };
        let a = attention(batch, &q, &lc.k, &lc.v, None, &p)?;
        let mut a = matmul_new(batch, &a, &layer.wo)?;
        if let Some(w) = &layer.post_attn_norm {
            a = norm(batch, c.norm, &a, w, None, c.norm_eps)?;
        }
        let x = elementwise(batch, Op::Add, &x, Some(&a))?;
        // Feed-forward.
        let h = norm(batch, c.norm, &x, &layer.ffn_norm, None, c.norm_eps)?;
        let gate = matmul_new(batch, &h, &layer.w_gate)?;
        let up = matmul_new(batch, &h, &layer.w_up)?;
        let f = elementwise(batch, Op::Glu(c.act), &gate, Some(&up))?;
        let mut f = matmul_new(batch, &f, &layer.w_down)?;
        if let Some(w) = &layer.post_ffn_norm {
            f = norm(batch, c.norm, &f, w, None, c.norm_eps)?;
        }
        Ok(elementwise(batch, Op::Add, &x, Some(&f))?)
    }
}

/// The last of `n` rows of x, as its own `[1, dim]` tensor.
fn last_row(batch: &mut Batch<'_>, x: &GpuTensor, n: usize, dim: usize) -> Result<GpuTensor, ModelError> {
    let out = batch.ctx().tensor(&[1, dim], DType::F32)?;
    let bytes = dim as u64 * 4;
    batch.copy_region(x.buffer(), (n as u64 - 1) * bytes, out.buffer(), 0, bytes);
    Ok(out)
}
