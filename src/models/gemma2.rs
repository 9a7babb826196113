//! Gemma 2 (arch and `model_type` `gemma2`). Gemma Team, "Gemma 2: Improving Open Language Models
//! at a Practical Size" (2024).
//!
//! Gemma 1's block (`gemma.rs`) plus: extra RMSNorms after attention and after the FFN (before
//! each residual add), soft-capping of attention scores and of the output logits, and
//! sliding-window (local) attention on even layers, global on odd ones.

use crate::formats::gguf::GgufFile;

use super::config::{arch_md_opt, DecoderConfig};
use super::hf::HfExtra;
use super::{gemma, Family, ModelError};

/// Gemma 2 knobs: post-norms, soft-caps and alternating windows (sliding on even layers, HF
/// `layer_types` / llama.cpp `set_swa_pattern(2)`).
fn apply(c: &mut DecoderConfig, sliding_window: usize, attn_softcap: f32, final_softcap: f32) {
    gemma::windowed(c, sliding_window, |l| l % 2 == 0);
    c.attn_softcap = attn_softcap;
    c.final_softcap = final_softcap;
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let f = Family::Gemma2;
    let (mut c, window) = gemma::from_gguf_windowed(gguf, f, 46)?;
    let attn_cap = arch_md_opt(gguf, f, "attn_logit_softcapping")?.unwrap_or(0.0);
    let final_cap = arch_md_opt(gguf, f, "final_logit_softcapping")?.unwrap_or(0.0);
    apply(&mut c, window, attn_cap, final_cap);
    Ok(c)
}

/// HF Gemma 2 says its window and caps; `query_pre_attn_scalar` and `layer_types` are read by
/// `hf.rs` (other families may set them too).
pub fn from_hf(c: &mut DecoderConfig, x: &HfExtra) {
    let window = gemma::from_hf_windowed(c, x);
    apply(
        c,
        window,
        x.attn_logit_softcapping.unwrap_or(0.0),
        x.final_logit_softcapping.unwrap_or(0.0),
    );
}

/// Four norms per layer: HF's `post_attention_layernorm` follows attention here, and the norm
/// before the FFN has its own name.
pub fn hf_name(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "ffn_norm" => "pre_feedforward_layernorm",
        "post_attention_norm" => "post_attention_layernorm",
        "post_ffw_norm" => "post_feedforward_layernorm",
        _ => return None,
    })
}
