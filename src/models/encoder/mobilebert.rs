//! MobileBERT's block, following transformers' `modeling_mobilebert.py`.
//!
//! The hidden state stays `hidden` wide between blocks, but attention and the FFNs run in a
//! narrower `true_hidden` bottleneck:
//! ```text
//! layer_input = norm(x Win + b)                     (bottleneck.input)
//! q = k = norm(x Wa + b)  (key_query_shared_bottleneck; else q = k = x, or all four = layer_input
//!                          with use_bottleneck_attention);  v = x
//! a = norm(attention(q Wq, k Wk, v Wv) Wo + layer_input)
//! repeat n_ffn - 1 times:  a = norm(a + relu(a W1) W2)
//! out = norm(relu(a Wi) Wo + a)
//! x = norm(out Wb + x)                              (output.bottleneck, back to hidden)
//! ```
//! Every `norm` is a NoNorm (`x * w + b`) in the released model. Without a bottleneck
//! (`use_bottleneck = false`), q = k = v = layer_input = x and the last step is skipped.

use crate::gpu::{Batch, GpuContext, GpuError, GpuTensor};

use super::{self_attention, EncoderBatch, EncoderConfig, Linear, Norm};
use crate::models::tensor_source::TensorSource;
use crate::models::ModelError;

/// A dense layer followed by its norm, the unit MobileBERT repeats everywhere.
struct DenseNorm {
    dense: Linear,
    norm: Norm,
}

impl DenseNorm {
    fn load(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        name: &str,
        dims: (usize, usize),
    ) -> Result<DenseNorm, ModelError> {
        Self::load_eps(ctx, cfg, src, name, dims, cfg.eps)
    }

    fn load_eps(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        name: &str,
        (out, inp): (usize, usize),
        eps: f32,
    ) -> Result<DenseNorm, ModelError> {
        Ok(DenseNorm {
            dense: Linear::load(ctx, src, &format!("{name}.dense"), (out, inp), true)?,
            norm: Norm::load_eps(ctx, src, &format!("{name}.LayerNorm"), out, cfg, eps)?,
        })
    }

    /// `norm(x W + b)`.
    fn forward(&self, batch: &mut Batch<'_>, x: &GpuTensor) -> Result<GpuTensor, GpuError> {
        let y = self.dense.forward(batch, x)?;
        self.norm.forward(batch, &y)
    }

    /// `norm(x W + b + residual)`.
    fn forward_residual(
        &self,
        batch: &mut Batch<'_>,
        x: &GpuTensor,
        residual: &GpuTensor,
    ) -> Result<GpuTensor, GpuError> {
        let y = self.dense.forward(batch, x)?;
        self.norm.add_forward(batch, &y, residual)
    }
}

/// An FFN: `up` (with the activation), then `down` with its residual norm.
struct Ffn {
    up: Linear,
    down: DenseNorm,
}

impl Ffn {
    fn forward(&self, batch: &mut Batch<'_>, cfg: &EncoderConfig, x: &GpuTensor) -> Result<GpuTensor, GpuError> {
        let h = self.up.forward_act(batch, x, cfg.act)?;
        self.down.forward_residual(batch, &h, x)
    }
}

pub(super) struct MobileLayer {
    /// `bottleneck.input` and `bottleneck.attention` (when q/k share their own bottleneck).
    input_bottleneck: Option<DenseNorm>,
    qk_bottleneck: Option<DenseNorm>,
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: DenseNorm,
    extra_ffns: Vec<Ffn>,
    ffn: Ffn,
    /// `output.bottleneck`: back from `true_hidden` to `hidden`.
    out_bottleneck: Option<DenseNorm>,
}

impl MobileLayer {
    pub(super) fn load(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        p: &str,
    ) -> Result<MobileLayer, ModelError> {
        let Some(m) = &cfg.mobile else {
            return Err(ModelError::Config(
                "MobileBERT layer without MobileBERT settings".into(),
            ));
        };
        let (h, t, f) = (cfg.hidden, m.true_hidden, cfg.intermediate);
        let n = |s: &str| format!("{p}.{s}");
        let (input_bottleneck, qk_bottleneck) = if m.use_bottleneck {
            let qk = if m.key_query_shared_bottleneck && !m.use_bottleneck_attention {
                Some(DenseNorm::load(ctx, cfg, src, &n("bottleneck.attention"), (t, h))?)
            } else {
                None
            };
            (
                Some(DenseNorm::load(ctx, cfg, src, &n("bottleneck.input"), (t, h))?),
                qk,
            )
        } else {
            (None, None)
        };
        // The value projection reads the full-width hidden state unless attention runs on the
        // bottleneck.
        let v_in = if m.use_bottleneck_attention || !m.use_bottleneck {
            t
        } else {
            h
        };
        let ffn = |src: &mut dyn TensorSource, name: &str, up: &str, eps: f32| -> Result<Ffn, ModelError> {
            Ok(Ffn {
                up: Linear::load(ctx, src, &n(up), (f, t), true)?,
                down: DenseNorm::load_eps(ctx, cfg, src, &n(name), (t, f), eps)?,
            })
        };
        let extra_ffns = (0..m.n_ffn - 1)
            .map(|j| {
                ffn(
                    src,
                    &format!("ffn.{j}.output"),
                    &format!("ffn.{j}.intermediate.dense"),
                    cfg.eps,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(MobileLayer {
            input_bottleneck,
            qk_bottleneck,
            q: Linear::load(ctx, src, &n("attention.self.query"), (t, t), true)?,
            k: Linear::load(ctx, src, &n("attention.self.key"), (t, t), true)?,
            v: Linear::load(ctx, src, &n("attention.self.value"), (t, v_in), true)?,
            attn_out: DenseNorm::load(ctx, cfg, src, &n("attention.output"), (t, t))?,
            extra_ffns,
            ffn: ffn(src, "output", "intermediate.dense", cfg.unpassed_eps())?,
            out_bottleneck: if m.use_bottleneck {
                Some(DenseNorm::load(ctx, cfg, src, &n("output.bottleneck"), (h, t))?)
            } else {
                None
            },
        })
    }

    /// The block's projections under their HF module names below `p` (`...encoder.layer.0`).
    pub(super) fn linears_mut(&mut self, p: &str) -> Vec<(String, &mut Linear)> {
        let n = |s: &str| format!("{p}.{s}");
        let mut out = Vec::new();
        if let Some(b) = self.input_bottleneck.as_mut() {
            out.push((n("bottleneck.input.dense"), &mut b.dense));
        }
        if let Some(b) = self.qk_bottleneck.as_mut() {
            out.push((n("bottleneck.attention.dense"), &mut b.dense));
        }
        out.push((n("attention.self.query"), &mut self.q));
        out.push((n("attention.self.key"), &mut self.k));
        out.push((n("attention.self.value"), &mut self.v));
        out.push((n("attention.output.dense"), &mut self.attn_out.dense));
        for (j, ffn) in self.extra_ffns.iter_mut().enumerate() {
            out.push((n(&format!("ffn.{j}.intermediate.dense")), &mut ffn.up));
            out.push((n(&format!("ffn.{j}.output.dense")), &mut ffn.down.dense));
        }
        out.push((n("intermediate.dense"), &mut self.ffn.up));
        out.push((n("output.dense"), &mut self.ffn.down.dense));
        if let Some(b) = self.out_bottleneck.as_mut() {
            out.push((n("output.bottleneck.dense"), &mut b.dense));
        }
        out
    }

    pub(super) fn forward(
        &self,
        batch: &mut Batch<'_>,
        cfg: &EncoderConfig,
        x: &GpuTensor,
        input: &EncoderBatch,
    ) -> Result<GpuTensor, GpuError> {
        let use_bottleneck_attention = cfg.mobile.as_ref().is_some_and(|m| m.use_bottleneck_attention);
        let bottlenecked;
        let layer_input = match &self.input_bottleneck {
            Some(b) => {
                bottlenecked = b.forward(batch, x)?;
                &bottlenecked
            }
            None => x,
        };
        let shared;
        let (qk_in, v_in) = match (&self.qk_bottleneck, use_bottleneck_attention) {
            (_, true) => (layer_input, layer_input),
            (Some(b), false) => {
                shared = b.forward(batch, x)?;
                (&shared, x)
            }
            (None, false) => (x, x),
        };
        let q = self.q.forward(batch, qk_in)?;
        let k = self.k.forward(batch, qk_in)?;
        let v = self.v.forward(batch, v_in)?;
        let a = self_attention(batch, cfg, (&q, &k, &v), input)?;
        let mut a = self.attn_out.forward_residual(batch, &a, layer_input)?;
        for ffn in &self.extra_ffns {
            a = ffn.forward(batch, cfg, &a)?;
        }
        let out = self.ffn.forward(batch, cfg, &a)?;
        match &self.out_bottleneck {
            Some(b) => b.forward_residual(batch, &out, x),
            None => Ok(out),
        }
    }
}
