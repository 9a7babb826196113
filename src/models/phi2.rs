//! Phi-2 (arch `phi2`). Microsoft, "Phi-2: The surprising power of small language models" (2023),
//! the CodeGen-style block of Phi-1: LayerNorm with bias; attention and MLP in parallel on the
//! same normed input; partial rotary embeddings (32 of 80 head dims, NEOX); an ungated MLP with
//! `gelu_new` (tanh GELU); biases on every projection, the LM head included.

use crate::cpu::elementwise::Activation;
use crate::formats::gguf::GgufFile;
use crate::kernels::norm::NormKind;
use crate::kernels::rope::RopeLayout;

use super::config::{common, DecoderConfig};
use super::ModelError;

/// The Phi-2 knobs on top of the shared hyper-parameters (GGUF or HF).
pub fn apply(c: &mut DecoderConfig) {
    c.norm = NormKind::Layer;
    c.act = Activation::GeluTanh;
    c.rope_layout = RopeLayout::Neox;
    c.qkv_bias = true;
    c.o_bias = true;
    c.ffn_bias = true;
    c.output_bias = true;
    c.ffn_gated = false;
    c.parallel_block = true;
}

pub fn config(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, "phi2")?;
    apply(&mut c);
    Ok(c)
}
