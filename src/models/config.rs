//! The knobs of a pre-norm decoder-only transformer, and the GGUF keys every family shares
//! (`common`); each family file turns its own knobs and reads its own keys.

use crate::formats::gguf::{FromMeta, GgufFile};
use crate::ops::{Activation, NormKind, RopeLayout};

use super::{BlockKind, Family, ModelError};

/// How position frequencies are adjusted for long contexts.
#[derive(Clone, Debug, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor` (`rope.scaling.type = linear`).
    Linear {
        factor: f32,
    },
    /// Per-frequency divisors from the `rope_freqs.weight` tensor (Llama 3.1+ "llama3" scaling,
    /// which llama.cpp's converter bakes into that tensor).
    FreqFactors(Vec<f32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DecoderConfig {
    pub family: Family,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab: usize,
    /// Longest context the model was trained for.
    pub train_context: usize,
    pub norm_eps: f32,
    /// Gemma GGUFs store RMSNorm weights with the `1 +` already folded in, so GGUF models all
    /// use plain RMSNorm; safetensors Gemma checkpoints use `RmsPlusOne`.
    pub norm: NormKind,
    pub act: Activation,
    pub rope_layout: RopeLayout,
    pub rope_dims: usize,
    pub rope_base: f32,
    /// Rope base of sliding-window layers when it differs (Gemma 3: 10000 vs 1e6 global).
    pub rope_base_local: Option<f32>,
    pub rope_scaling: RopeScaling,
    /// q/k/v projections carry biases (Qwen2, Phi-2).
    pub qkv_bias: bool,
    /// The attention output projection carries a bias (Phi-2).
    pub o_bias: bool,
    /// The FFN projections carry biases (Phi-2).
    pub ffn_bias: bool,
    /// The LM head carries a bias (Phi-2).
    pub output_bias: bool,
    /// GLU FFN (gate, up, down); false: up -> act -> down (Phi-2).
    pub ffn_gated: bool,
    /// How attention and the FFN join the residual stream (Phi-2's are parallel).
    pub block: BlockKind,
    /// RMSNorm over each head of q and k before RoPE (Gemma 3).
    pub qk_norm: bool,
    /// Extra norms on the attention and FFN outputs before the residual add (Gemma 2/3).
    pub post_norms: bool,
    /// Sliding-window size of local layers; 0 when every layer is global.
    pub sliding_window: usize,
    /// Per layer: true for a sliding-window (local) layer.
    pub local_layers: Vec<bool>,
    /// Embeddings are multiplied by this (Gemma: sqrt(n_embd)).
    pub embed_scale: Option<f32>,
    /// Multiplier on q.k (1/sqrt(head_dim) unless the model says otherwise).
    pub attn_scale: f32,
    /// Gemma 2's soft-cap on attention scores; 0 = none.
    pub attn_softcap: f32,
    /// Gemma 2's soft-cap on the output logits; 0 = none.
    pub final_softcap: f32,
}

impl DecoderConfig {
    /// Every family knob at its plain-Llama value (no biases, gated FFN, sequential blocks, no
    /// norms beyond the two, global attention scaled by head_dim^-0.5), with empty sizes: the
    /// GGUF and HF readers fill the sizes and families turn the knobs they need.
    pub fn knobs_off(family: Family, n_layer: usize, head_dim: usize) -> DecoderConfig {
        DecoderConfig {
            family,
            n_layer,
            n_embd: 0,
            n_head: 0,
            n_kv_head: 0,
            head_dim,
            n_ff: 0,
            vocab: 0,
            train_context: 2048,
            norm_eps: 1e-5,
            norm: NormKind::Rms,
            act: Activation::Silu,
            rope_layout: RopeLayout::Normal,
            rope_dims: head_dim,
            rope_base: 10_000.0,
            rope_base_local: None,
            rope_scaling: RopeScaling::None,
            qkv_bias: false,
            o_bias: false,
            ffn_bias: false,
            output_bias: false,
            ffn_gated: true,
            block: BlockKind::Sequential,
            qk_norm: false,
            post_norms: false,
            sliding_window: 0,
            local_layers: vec![false; n_layer],
            embed_scale: None,
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            attn_softcap: 0.0,
            final_softcap: 0.0,
        }
    }

    /// Frequencies of RoPE for a layer: base^(-2i/d), adjusted by the scaling.
    pub fn inv_freq(&self, local: bool) -> Vec<f32> {
        let base = if local {
            self.rope_base_local.unwrap_or(self.rope_base)
        } else {
            self.rope_base
        };
        let mut f = crate::ops::rope_inv_freq(self.rope_dims, base);
        match (&self.rope_scaling, local) {
            // Gemma 3 scales only its global layers; local ones keep the short-range base.
            (_, true) if self.rope_base_local.is_some() => {}
            (RopeScaling::Linear { factor }, _) => f.iter_mut().for_each(|x| *x /= factor),
            (RopeScaling::FreqFactors(ff), _) => f.iter_mut().zip(ff).for_each(|(x, d)| *x /= d),
            (RopeScaling::None, _) => {}
        }
        f
    }

    /// Checks the invariants the kernels rely on.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.n_layer == 0 || self.n_embd == 0 || self.vocab == 0 || self.n_ff == 0 {
            return bad(format!("empty dimensions in {self:?}"));
        }
        if self.n_kv_head == 0 || !self.n_head.is_multiple_of(self.n_kv_head) {
            return bad(format!(
                "{} heads cannot share {} kv heads",
                self.n_head, self.n_kv_head
            ));
        }
        if !self.head_dim.is_multiple_of(4) || self.head_dim > crate::kernels::attention::MAX_HEAD_DIM {
            return bad(format!("head_dim {} must be a multiple of 4 up to 256", self.head_dim));
        }
        if self.rope_dims == 0 || self.rope_dims > self.head_dim || !self.rope_dims.is_multiple_of(2) {
            return bad(format!(
                "rope dims {} do not fit head_dim {}",
                self.rope_dims, self.head_dim
            ));
        }
        if self.local_layers.len() != self.n_layer {
            return bad("local layer pattern does not cover every layer".into());
        }
        // Every product the loader and kernels form must fit (u32 in the kernels).
        let fits = |v: Option<usize>| v.is_some_and(|v| v <= u32::MAX as usize / 4);
        if !fits(self.n_head.checked_mul(self.head_dim))
            || !fits(self.n_embd.checked_mul(self.n_ff))
            || !fits(self.vocab.checked_mul(self.n_embd))
            || self.sliding_window > u32::MAX as usize / 4
        {
            return bad(format!("dimensions too large: {self:?}"));
        }
        if !(self.rope_base > 0.0 && self.rope_base.is_finite() && self.norm_eps >= 0.0 && self.norm_eps.is_finite()) {
            return bad(format!(
                "rope base {} / norm eps {} out of range",
                self.rope_base, self.norm_eps
            ));
        }
        if !(self.attn_softcap >= 0.0 && self.final_softcap >= 0.0 && self.attn_scale.is_finite()) {
            return bad(format!(
                "soft-caps {} / {} and attention scale {} out of range",
                self.attn_softcap, self.final_softcap, self.attn_scale
            ));
        }
        if let RopeScaling::FreqFactors(f) = &self.rope_scaling {
            if f.len() != self.rope_dims / 2 {
                return bad(format!(
                    "{} rope freq factors for {} rotary dims",
                    f.len(),
                    self.rope_dims
                ));
            }
        }
        Ok(())
    }
}

/// Bounds on hyper-parameters read from a file, checked before anything is sized from them (the
/// largest open models have ~130 layers and 128 heads).
const MAX_LAYERS: usize = 1024;
const MAX_HEADS: usize = 1024;

/// Reads `<arch>.<key>` from the metadata.
pub fn arch_md<T: FromMeta>(gguf: &GgufFile, family: Family, key: &str) -> Result<T, ModelError> {
    Ok(gguf.md::<T>(&format!("{family}.{key}"))?)
}

/// Reads `<arch>.<key>` if present.
pub fn arch_md_opt<T: FromMeta>(gguf: &GgufFile, family: Family, key: &str) -> Result<Option<T>, ModelError> {
    Ok(gguf.md_opt::<T>(&format!("{family}.{key}"))?)
}

/// The hyper-parameters every GGUF decoder shares, with llama.cpp's defaults. Families then
/// adjust the rest.
pub fn common(gguf: &GgufFile, family: Family) -> Result<DecoderConfig, ModelError> {
    let arch = family;
    let n_embd: usize = arch_md(gguf, arch, "embedding_length")?;
    let n_head: usize = arch_md(gguf, arch, "attention.head_count")?;
    let n_layer: usize = arch_md(gguf, arch, "block_count")?;
    if n_head == 0 || n_layer == 0 || n_layer > MAX_LAYERS || n_head > MAX_HEADS {
        return Err(ModelError::Config(format!(
            "{arch}: {n_layer} layers of {n_head} heads is not a model we can load"
        )));
    }
    let head_dim = arch_md_opt(gguf, arch, "attention.key_length")?.unwrap_or(n_embd / n_head);
    // The vocabulary size is the token list's length when the key is absent (as in llama.cpp).
    let vocab = match arch_md_opt::<usize>(gguf, arch, "vocab_size")? {
        Some(v) => v,
        None => gguf.md_array("tokenizer.ggml.tokens")?.len(),
    };
    let rope_scaling = match gguf.md_opt::<String>(&format!("{arch}.rope.scaling.type"))?.as_deref() {
        Some("linear") => RopeScaling::Linear {
            factor: arch_md(gguf, arch, "rope.scaling.factor")?,
        },
        Some("none") | None => RopeScaling::None,
        Some(other) => return Err(ModelError::Config(format!("unsupported rope scaling `{other}`"))),
    };
    Ok(DecoderConfig {
        family,
        n_layer,
        n_embd,
        n_head,
        n_kv_head: arch_md_opt(gguf, arch, "attention.head_count_kv")?.unwrap_or(n_head),
        head_dim,
        n_ff: arch_md(gguf, arch, "feed_forward_length")?,
        vocab,
        train_context: arch_md_opt(gguf, arch, "context_length")?.unwrap_or(2048),
        // RMSNorm families store `layer_norm_rms_epsilon`, LayerNorm ones (Phi-2) `layer_norm_epsilon`.
        norm_eps: match arch_md_opt(gguf, arch, "attention.layer_norm_rms_epsilon")? {
            Some(eps) => eps,
            None => arch_md_opt(gguf, arch, "attention.layer_norm_epsilon")?.unwrap_or(1e-5),
        },
        norm: NormKind::Rms,
        act: Activation::Silu,
        rope_layout: RopeLayout::Normal,
        rope_dims: arch_md_opt(gguf, arch, "rope.dimension_count")?.unwrap_or(head_dim),
        rope_base: arch_md_opt(gguf, arch, "rope.freq_base")?.unwrap_or(10000.0),
        rope_base_local: None,
        rope_scaling,
        ..DecoderConfig::knobs_off(family, n_layer, head_dim)
    })
}
