//! Qwen2 / Qwen2.5 (arch and `model_type` `qwen2`): the Llama block with biases on the q, k and v
//! projections, and HF's rotate-half RoPE (NEOX layout). Yang et al., "Qwen2 Technical Report"
//! (2024).

use crate::formats::gguf::GgufFile;
use crate::ops::RopeLayout;

use super::config::{common, DecoderConfig};
use super::hf::HfExtra;
use super::{Family, ModelError};

/// The Qwen2 knobs on top of the shared hyper-parameters (GGUF or HF).
fn apply(c: &mut DecoderConfig) {
    c.qkv_bias = true;
    c.rope_layout = RopeLayout::Neox;
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, Family::Qwen2)?;
    apply(&mut c);
    Ok(c)
}

/// HF Qwen2 configs have no `attention_bias`: the q/k/v biases are implied by the family.
pub fn from_hf(c: &mut DecoderConfig, _x: &HfExtra) {
    apply(c);
}
