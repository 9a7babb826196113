//! Qwen2 / Qwen2.5 (arch `qwen2`): the Llama block with biases on the q, k and v projections,
//! and HF's rotate-half RoPE (NEOX layout). Yang et al., "Qwen2 Technical Report" (2024).

use crate::formats::gguf::GgufFile;
use crate::kernels::rope::RopeLayout;

use super::config::{common, DecoderConfig};
use super::ModelError;

pub fn config(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, "qwen2")?;
    c.qkv_bias = true;
    c.rope_layout = RopeLayout::Neox;
    Ok(c)
}
