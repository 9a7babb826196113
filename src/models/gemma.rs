//! Gemma 1 (arch and `model_type` `gemma`). Gemma Team, "Gemma: Open Models Based on Gemini
//! Research and Technology" (2024).
//!
//! Gemma 1 is Llama with GeGLU (tanh GELU), embeddings scaled by sqrt(n_embd), `(1 + w)`
//! RMSNorm and NEOX RoPE; the 2B model uses MQA. GGUF files fold the 1 into the norm weights
//! (plain RMSNorm); HF checkpoints store `w` (`RmsPlusOne`). Gemma 2 and 3 start from these knobs.

use crate::formats::gguf::GgufFile;
use crate::ops::{Activation, NormKind, RopeLayout};

use super::config::{arch_md_opt, common, DecoderConfig};
use super::hf::HfExtra;
use super::{Family, ModelError};

/// Gemma 1 knobs on top of the shared hyper-parameters (GGUF or HF).
pub fn apply(c: &mut DecoderConfig) {
    c.act = Activation::GeluTanh;
    c.rope_layout = RopeLayout::Neox;
    c.embed_scale = Some((c.n_embd as f32).sqrt());
}

/// GGUF has no `query_pre_attn_scalar`: like llama.cpp, Gemma 2 and 3 scale q.k by
/// head_dim^-0.5 except on their 27B models (told apart by `layers_27b`, as llama.cpp does), whose
/// scalar is n_embd / n_head.
fn gguf_attn_scale(c: &mut DecoderConfig, layers_27b: usize) {
    if c.n_layer == layers_27b {
        c.attn_scale = 1.0 / ((c.n_embd / c.n_head) as f32).sqrt();
    }
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, Family::Gemma)?;
    apply(&mut c);
    Ok(c)
}

/// Where Gemma 2 and 3 start from a GGUF: Gemma's knobs with the attention scale (see
/// `gguf_attn_scale`), and the sliding window (0: none).
pub fn from_gguf_windowed(
    gguf: &GgufFile,
    family: Family,
    layers_27b: usize,
) -> Result<(DecoderConfig, usize), ModelError> {
    let mut c = common(gguf, family)?;
    apply(&mut c);
    gguf_attn_scale(&mut c, layers_27b);
    let window = arch_md_opt(gguf, family, "attention.sliding_window")?.unwrap_or(0);
    Ok((c, window))
}

/// Where Gemma 2 and 3 start from HF: Gemma's knobs, and the sliding window (0: none).
pub fn from_hf_windowed(c: &mut DecoderConfig, x: &HfExtra) -> usize {
    from_hf(c, x);
    x.sliding_window.unwrap_or(0)
}

/// Gemma 2 and 3 add norms after attention and after the FFN, and run sliding-window (local)
/// attention on the layers `is_local` picks.
pub fn windowed(c: &mut DecoderConfig, sliding_window: usize, is_local: impl Fn(usize) -> bool) {
    c.post_norms = true;
    c.sliding_window = sliding_window;
    c.local_layers = (0..c.n_layer).map(|l| sliding_window > 0 && is_local(l)).collect();
}

/// Gemma's knobs, with the HF norm weights stored as `w` for `(1 + w)` (every Gemma).
pub fn from_hf(c: &mut DecoderConfig, _x: &HfExtra) {
    apply(c);
    c.norm = NormKind::RmsPlusOne;
}
