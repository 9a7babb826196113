//! Phi-2 (arch `phi2`, `model_type` `phi`). Microsoft, "Phi-2: The surprising power of small
//! language models" (2023), the CodeGen-style block of Phi-1: LayerNorm with bias; attention and
//! MLP in parallel on the same normed input; partial rotary embeddings (32 of 80 head dims, NEOX);
//! an ungated MLP with `gelu_new` (tanh GELU); biases on every projection, the LM head included.

use crate::formats::gguf::GgufFile;
use crate::ops::{Activation, NormKind, RopeLayout};

use super::config::{common, DecoderConfig};
use super::hf::HfExtra;
use super::{BlockKind, Family, ModelError};

/// The Phi-2 knobs on top of the shared hyper-parameters (GGUF or HF).
fn apply(c: &mut DecoderConfig) {
    c.norm = NormKind::Layer;
    c.act = Activation::GeluTanh;
    c.rope_layout = RopeLayout::Neox;
    c.qkv_bias = true;
    c.o_bias = true;
    c.ffn_bias = true;
    c.output_bias = true;
    c.ffn_gated = false;
    c.block = BlockKind::Parallel;
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, Family::Phi2)?;
    apply(&mut c);
    Ok(c)
}

/// HF Phi's `partial_rotary_factor` and `layer_norm_eps` are read by `hf.rs`; the rest is fixed.
pub fn from_hf(c: &mut DecoderConfig, _x: &HfExtra) {
    apply(c);
}

/// Phi's own names: `final_layernorm`, `self_attn.dense`, and the MLP's `fc1` / `fc2`.
pub fn hf_name(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "output_norm" => "final_layernorm",
        "attn_output" => "self_attn.dense",
        "ffn_up" => "mlp.fc1",
        "ffn_down" => "mlp.fc2",
        _ => return None,
    })
}
