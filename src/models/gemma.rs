//! Gemma 1 (arch and `model_type` `gemma`). Gemma Team, "Gemma: Open Models Based on Gemini
//! Research and Technology" (2024).
//!
//! Gemma 1 is Llama with GeGLU (tanh GELU), embeddings scaled by sqrt(n_embd), `(1 + w)`
//! RMSNorm and NEOX RoPE; the 2B model uses MQA. GGUF files fold the 1 into the norm weights
//! (plain RMSNorm); HF checkpoints store `w` (`RmsPlusOne`). Gemma 2 and 3 start from these knobs.

use crate::formats::gguf::GgufFile;
use crate::ops::{Activation, NormKind, RopeLayout};

use super::config::{common, DecoderConfig};
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
pub fn gguf_attn_scale(c: &mut DecoderConfig, layers_27b: usize) {
    if c.n_layer == layers_27b {
        c.attn_scale = 1.0 / ((c.n_embd / c.n_head) as f32).sqrt();
    }
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, Family::Gemma)?;
    apply(&mut c);
    Ok(c)
}

/// Gemma's knobs, with the HF norm weights stored as `w` for `(1 + w)` (every Gemma).
pub fn from_hf(c: &mut DecoderConfig, _x: &HfExtra) {
    apply(c);
    c.norm = NormKind::RmsPlusOne;
}
