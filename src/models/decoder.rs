//! The forward pass shared by every decoder family.
//!
//! ```text
//! x = embed(ids) [* sqrt(n_embd)]
//! for each layer:
//!     h = norm(x);  q, k, v = h Wq (+bq), h Wk (+bk), h Wv (+bv)
//!     [q, k = rmsnorm per head]; q, k = rope(q, k); cache k, v   (one dispatch on the GPU path)
//!     a = attention(q, K, V) Wo (+bo);  [a = norm(a)]
//!     sequential (most):  x = x + a;  h = norm(x);  x = x + [norm](ffn(h))
//!     parallel (Phi-2):   x = x + a + ffn(h)          (one norm feeds both)
//!     ffn(h) = (act(h Wgate) * h Wup) Wdown    or, ungated (Phi-2), act(h Wup + b) Wdown + b
//! logits = norm(x) Wout (+b)   (Wout = Wembed when tied);  [logits = cap * tanh(logits / cap)]
//! ```
//! Bracketed steps are the family knobs of [`DecoderConfig`]. Weights are asked for by their
//! llama.cpp (GGUF) names; a safetensors checkpoint maps them to HF names (`hf.rs`).

use crate::gpu::{Batch, DType, GpuContext, GpuTensor, KernelPath};
use crate::kernels::elementwise::{elementwise, Op};
use crate::kernels::norm::norm;
use crate::kernels::rope::rope_pair;
use crate::kernels::rope_kv::{rope_kv, QkNorm, RopeKv};
use crate::kernels::{attention::attention, embedding::embedding, GpuWeight};
use crate::ops::AttentionParams;
use crate::ops::NormKind;

use super::config::RopeScaling;
use super::linear::Linear;
use super::source::GgufSource;
use super::tensor_source::TensorSource;
use super::{config_from_gguf, BlockKind, DecoderConfig, KvCache, KvDtype, ModelError};
use crate::formats::gguf::GgufFile;

/// A norm's weight, and its bias for LayerNorm (Phi-2).
pub struct NormWeights {
    pub w: GpuTensor,
    pub b: Option<GpuTensor>,
}

/// One transformer block. Shapes are `[rows, k]` (a Linear weight: out x in).
pub struct Layer {
    pub attn_norm: NormWeights,            // [n_embd]
    pub wq: Linear,                        // [n_head * head_dim, n_embd]
    pub wk: Linear,                        // [n_kv_head * head_dim, n_embd]
    pub wv: Linear,                        // [n_kv_head * head_dim, n_embd]
    pub qk_norm: Option<[GpuTensor; 2]>,   // [head_dim] each (Gemma 3)
    pub wo: Linear,                        // [n_embd, n_head * head_dim]
    pub post_attn_norm: Option<GpuTensor>, // [n_embd] (Gemma 2/3)
    pub ffn_norm: Option<NormWeights>,     // [n_embd]; none in a parallel block
    pub w_gate: Option<Linear>,            // [n_ff, n_embd]; none in an ungated FFN
    pub w_up: Linear,                      // [n_ff, n_embd]
    pub w_down: Linear,                    // [n_embd, n_ff]
    pub post_ffn_norm: Option<GpuTensor>,  // [n_embd] (Gemma 2/3)
}

pub struct Decoder {
    pub cfg: DecoderConfig,
    pub tok_embd: GpuWeight, // [vocab, n_embd]
    pub layers: Vec<Layer>,
    pub out_norm: NormWeights,  // [n_embd]
    pub output: Option<Linear>, // [vocab, n_embd]; None when tied to tok_embd
    inv_freq_global: GpuTensor, // [rope_dims / 2]
    inv_freq_local: GpuTensor,  // [rope_dims / 2]
}

impl Decoder {
    /// Loads every tensor of a GGUF decoder onto the GPU, checking each shape.
    pub fn load(ctx: &GpuContext, src: &mut GgufSource) -> Result<Self, ModelError> {
        let gguf = src.gguf.clone();
        Self::load_gguf(ctx, &gguf, src)
    }

    /// A GGUF decoder described by `gguf`, its tensors from `src` (the file, or tensors the
    /// browser streamed in).
    pub fn load_gguf(ctx: &GpuContext, gguf: &GgufFile, src: &mut dyn TensorSource) -> Result<Self, ModelError> {
        let mut cfg = config_from_gguf(gguf)?;
        if let RopeScaling::FreqFactors(f) = &mut cfg.rope_scaling {
            *f = src.vector_f32("rope_freqs.weight", cfg.rope_dims / 2)?;
        }
        Self::load_with(ctx, cfg, src, &|name: &str| name.to_string())
    }

    /// Loads a decoder whose tensors `src` holds under `name(gguf_name)`.
    pub fn load_with(
        ctx: &GpuContext,
        cfg: DecoderConfig,
        src: &mut dyn TensorSource,
        name: &dyn Fn(&str) -> String,
    ) -> Result<Self, ModelError> {
        cfg.validate()?;
        let c = &cfg;
        let (q_rows, kv_rows) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        let e = c.n_embd;
        let mut layers = Vec::with_capacity(c.n_layer);
        for l in 0..c.n_layer {
            let n = |s: &str| name(&format!("blk.{l}.{s}"));
            let linear = |src: &mut dyn TensorSource, s: &str, dims: (usize, usize), bias: bool| {
                Linear::load_mapped(ctx, src, &format!("blk.{l}.{s}"), dims, bias, name)
            };
            let wq = linear(src, "attn_q", (q_rows, e), c.qkv_bias)?;
            let wk = linear(src, "attn_k", (kv_rows, e), c.qkv_bias)?;
            let wv = linear(src, "attn_v", (kv_rows, e), c.qkv_bias)?;
            let wo = linear(src, "attn_output", (e, q_rows), c.o_bias)?;
            let w_gate = match c.ffn_gated {
                true => Some(linear(src, "ffn_gate", (c.n_ff, e), c.ffn_bias)?),
                false => None,
            };
            let w_up = linear(src, "ffn_up", (c.n_ff, e), c.ffn_bias)?;
            let w_down = linear(src, "ffn_down", (e, c.n_ff), c.ffn_bias)?;
            let qk_norm = if c.qk_norm {
                Some([
                    src.vector(ctx, &n("attn_q_norm.weight"), c.head_dim)?,
                    src.vector(ctx, &n("attn_k_norm.weight"), c.head_dim)?,
                ])
            } else {
                None
            };
            let post = |src: &mut dyn TensorSource, s: &str| -> Result<Option<GpuTensor>, ModelError> {
                match c.post_norms {
                    true => Ok(Some(src.vector(ctx, &n(s), e)?)),
                    false => Ok(None),
                }
            };
            layers.push(Layer {
                attn_norm: load_norm(ctx, src, c, &format!("blk.{l}.attn_norm"), name)?,
                wq,
                wk,
                wv,
                qk_norm,
                wo,
                post_attn_norm: post(src, "post_attention_norm.weight")?,
                ffn_norm: match c.block {
                    BlockKind::Parallel => None,
                    BlockKind::Sequential => Some(load_norm(ctx, src, c, &format!("blk.{l}.ffn_norm"), name)?),
                },
                w_gate,
                w_up,
                w_down,
                post_ffn_norm: post(src, "post_ffw_norm.weight")?,
            });
        }
        let output = if src.has(&name("output.weight")) {
            Some(Linear::load_mapped(
                ctx,
                src,
                "output",
                (c.vocab, e),
                c.output_bias,
                name,
            )?)
        } else {
            None
        };
        let half = c.rope_dims / 2;
        Ok(Decoder {
            tok_embd: src.matrix(ctx, &name("token_embd.weight"), c.vocab, e)?,
            out_norm: load_norm(ctx, src, c, "output_norm", name)?,
            output,
            inv_freq_global: ctx.upload_f32(&c.inv_freq(false), &[half])?,
            inv_freq_local: ctx.upload_f32(&c.inv_freq(true), &[half])?,
            layers,
            cfg,
        })
    }

    /// Every projection under its llama.cpp stem (`blk.0.attn_q`, `output`), for LoRA adapters
    /// to find their targets in.
    pub fn linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        let mut out = Vec::new();
        for (l, layer) in self.layers.iter_mut().enumerate() {
            let named = [
                ("attn_q", Some(&mut layer.wq)),
                ("attn_k", Some(&mut layer.wk)),
                ("attn_v", Some(&mut layer.wv)),
                ("attn_output", Some(&mut layer.wo)),
                ("ffn_gate", layer.w_gate.as_mut()),
                ("ffn_up", Some(&mut layer.w_up)),
                ("ffn_down", Some(&mut layer.w_down)),
            ];
            for (stem, lin) in named {
                if let Some(lin) = lin {
                    out.push((format!("blk.{l}.{stem}"), lin));
                }
            }
        }
        if let Some(output) = self.output.as_mut() {
            out.push(("output".to_string(), output));
        }
        out
    }

    /// GPU memory held by the weights (matrices in their stored format, biases, norms), in bytes.
    pub fn weight_bytes(&self) -> u64 {
        let m = Linear::size_bytes;
        let norm = |n: &NormWeights| n.w.bytes() + n.b.as_ref().map_or(0, GpuTensor::bytes);
        let vector = |v: &Option<GpuTensor>| v.as_ref().map_or(0, GpuTensor::bytes);
        let layers: u64 = self
            .layers
            .iter()
            .map(|l| {
                let matrices = m(&l.wq) + m(&l.wk) + m(&l.wv) + m(&l.wo);
                let ffn = l.w_gate.as_ref().map_or(0, m) + m(&l.w_up) + m(&l.w_down);
                let qk_norm = l.qk_norm.as_ref().map_or(0, |[q, k]| q.bytes() + k.bytes());
                let norms = norm(&l.attn_norm) + l.ffn_norm.as_ref().map_or(0, norm) + qk_norm;
                matrices + ffn + norms + vector(&l.post_attn_norm) + vector(&l.post_ffn_norm)
            })
            .sum();
        layers + self.tok_embd.size_bytes() + self.output.as_ref().map_or(0, m) + norm(&self.out_norm)
    }

    /// Weight bytes one decoded token must read at least: every weight once, except the embedding
    /// table, of which it needs one row, unless the table is also the (tied) output head.
    pub fn decode_weight_bytes(&self) -> u64 {
        match &self.output {
            None => self.weight_bytes(),
            Some(_) => {
                let table = self.tok_embd.size_bytes();
                self.weight_bytes() - table + table / self.tok_embd.n.max(1) as u64
            }
        }
    }

    /// Bytes of keys and values that decoding the token at position `pos` must read at least:
    /// every cached key and value it can see (a sliding-window layer sees only its window), once,
    /// stored as `dtype`.
    /// Worked out from the config on purpose, apart from the attention launcher's own count
    /// (`AttentionParams::kv_bytes_fetched`), so that `webslm bench` can catch it over-fetching.
    pub fn kv_bytes_needed(&self, pos: usize, dtype: KvDtype) -> u64 {
        let c = &self.cfg;
        let row = (c.n_kv_head * c.head_dim * dtype.elem_bytes() * 2) as u64;
        let visible = |local: bool| match local && c.sliding_window > 0 {
            true => (pos + 1).min(c.sliding_window),
            false => pos + 1,
        };
        c.local_layers.iter().map(|&local| visible(local) as u64 * row).sum()
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
            return Err(ModelError::ChunkTooLong {
                got: n,
                max: cache.max_chunk,
            });
        }
        if pos0 + n > cache.context {
            return Err(ModelError::ContextOverflow {
                needed: pos0 + n,
                context: cache.context,
            });
        }
        if let Some(&id) = new_tokens.iter().find(|&&t| t as usize >= c.vocab) {
            return Err(ModelError::TokenOutOfVocab { id, vocab: c.vocab });
        }
        let mut x = embedding(batch, &self.tok_embd, ids)?;
        if let Some(s) = c.embed_scale {
            x = elementwise(batch, Op::Scale(s), &x, None)?;
        }
        for (l, layer) in self.layers.iter().enumerate() {
            x = self.block(batch, cache, l, layer, x, pos0, n)?;
        }
        let x = self.norm(batch, &x, &self.out_norm)?;
        // A decoded token's x is its last row already: no copy (which would also end the pass).
        let x = if all_logits || n == 1 {
            x
        } else {
            last_row(batch, &x, n, c.n_embd)?
        };
        let mut logits = match &self.output {
            Some(head) => head.forward(batch, &x)?,
            None => crate::kernels::matmul::matmul_new(batch, &x, &self.tok_embd)?,
        };
        if c.final_softcap > 0.0 {
            logits = elementwise(batch, Op::Softcap(c.final_softcap), &logits, None)?;
        }
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
        let h = self.norm(batch, &x, &layer.attn_norm)?;
        let (mut q, mut k, v) = (
            layer.wq.forward(batch, &h)?,
            layer.wk.forward(batch, &h)?,
            layer.wv.forward(batch, &h)?,
        );
        let inv_freq = if local {
            &self.inv_freq_local
        } else {
            &self.inv_freq_global
        };
        if batch.ctx().caps.kernels.path == KernelPath::Gpu {
            // One dispatch for the q/k norms, RoPE and the cache store (see kernels/rope_kv.rs).
            let lc = &cache.layers[l];
            let args = RopeKv {
                q: &q,
                k: &k,
                v: &v,
                n_head: c.n_head,
                n_kv_head: c.n_kv_head,
                head_dim: c.head_dim,
                inv_freq,
                layout: c.rope_layout,
                qk_norm: layer.qk_norm.as_ref().map(|[qn, kn]| QkNorm {
                    kind: c.norm,
                    q: qn,
                    k: kn,
                    eps: c.norm_eps,
                }),
                kc: &lc.k,
                vc: &lc.v,
                cap: lc.cap,
                pos0,
            };
            rope_kv(batch, &args)?;
        } else {
            if let Some([qn, kn]) = &layer.qk_norm {
                q = norm(batch, c.norm, &q, qn, None, c.norm_eps)?;
                k = norm(batch, c.norm, &k, kn, None, c.norm_eps)?;
            }
            let (q_heads, k_heads) = ((&q, c.n_head), Some((&k, c.n_kv_head)));
            rope_pair(
                batch,
                q_heads,
                k_heads,
                c.head_dim,
                inv_freq,
                pos0 as u32,
                c.rope_layout,
            )?;
            cache.write(batch, l, &k, &v, pos0, n)?;
        }
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
        let attn = attention(batch, &q, &lc.k, &lc.v, None, &p)?;
        // The attention output joins the residual stream before the FFN in a sequential block
        // (added in place by the projection when no post-norm comes between), and after it in a
        // parallel block, whose FFN reads the same normed input `h` as attention did.
        let (x, h, parallel_a) = match (c.block, &layer.ffn_norm) {
            (BlockKind::Sequential, Some(ffn_norm)) => {
                let x = match &layer.post_attn_norm {
                    None => layer.wo.forward_add(batch, &attn, x)?,
                    Some(w) => {
                        let a = layer.wo.forward(batch, &attn)?;
                        let a = norm(batch, c.norm, &a, w, None, c.norm_eps)?;
                        elementwise(batch, Op::Add, &x, Some(&a))?
                    }
                };
                let h = self.norm(batch, &x, ffn_norm)?;
                (x, h, None)
            }
            // `load` gives a parallel block no FFN norm (and a sequential one always has one).
            (BlockKind::Parallel, _) | (BlockKind::Sequential, None) => {
                let mut a = layer.wo.forward(batch, &attn)?;
                if let Some(w) = &layer.post_attn_norm {
                    a = norm(batch, c.norm, &a, w, None, c.norm_eps)?;
                }
                (x, h, Some(a))
            }
        };
        let f = match &layer.w_gate {
            Some(gate) => {
                let g = gate.forward(batch, &h)?;
                layer.w_up.forward_gated(batch, &h, &g, c.act)?
            }
            None => layer.w_up.forward_act(batch, &h, c.act)?,
        };
        let x = match parallel_a {
            Some(a) => elementwise(batch, Op::Add, &x, Some(&a))?,
            None => x,
        };
        match &layer.post_ffn_norm {
            None => Ok(layer.w_down.forward_add(batch, &f, x)?),
            Some(w) => {
                let f = layer.w_down.forward(batch, &f)?;
                let f = norm(batch, c.norm, &f, w, None, c.norm_eps)?;
                Ok(elementwise(batch, Op::Add, &x, Some(&f))?)
            }
        }
    }

    /// The model's norm (RMSNorm, Gemma's `1 + w`, or LayerNorm with its bias).
    fn norm(&self, batch: &mut Batch<'_>, x: &GpuTensor, w: &NormWeights) -> Result<GpuTensor, ModelError> {
        Ok(norm(batch, self.cfg.norm, x, &w.w, w.b.as_ref(), self.cfg.norm_eps)?)
    }
}

/// `{name}.weight`, and `{name}.bias` for LayerNorm (names mapped by `map`).
fn load_norm(
    ctx: &GpuContext,
    src: &mut dyn TensorSource,
    c: &DecoderConfig,
    name: &str,
    map: &dyn Fn(&str) -> String,
) -> Result<NormWeights, ModelError> {
    Ok(NormWeights {
        w: src.vector(ctx, &map(&format!("{name}.weight")), c.n_embd)?,
        b: match c.norm {
            NormKind::Layer => Some(src.vector(ctx, &map(&format!("{name}.bias")), c.n_embd)?),
            _ => None,
        },
    })
}

/// The last of `n` rows of x, as its own `[1, dim]` tensor.
fn last_row(batch: &mut Batch<'_>, x: &GpuTensor, n: usize, dim: usize) -> Result<GpuTensor, ModelError> {
    let out = batch.ctx().tensor(&[1, dim], DType::F32)?;
    let bytes = dim as u64 * 4;
    batch.copy_region(x.buffer(), (n as u64 - 1) * bytes, out.buffer(), 0, bytes);
    Ok(out)
}
