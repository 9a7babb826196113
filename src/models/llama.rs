//! Llama family: Llama 2/3.x, TinyLlama, SmolLM2 (arch `llama` in GGUF, `model_type` `llama`).
//! Touvron et al., "LLaMA" (2023): pre-RMSNorm, SwiGLU FFN, RoPE, GQA. Every knob of
//! [`DecoderConfig::knobs_off`] is Llama's, so this file only reads the rope scaling.
//! llama.cpp's converter permutes q/k so that RoPE rotates adjacent pairs (ROPE_TYPE_NORM); HF
//! checkpoints keep rotate-half, which `hf.rs` sets for every family.

use crate::formats::gguf::GgufFile;

use super::config::{common, DecoderConfig, RopeScaling};
use super::hf::HfExtra;
use super::{Family, ModelError};

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, Family::Llama)?;
    // Llama 3.1+ "llama3" rope scaling is stored as per-frequency divisors.
    if let Ok(t) = gguf.tensor("rope_freqs.weight") {
        if t.dims.first().copied() != Some((c.rope_dims / 2) as u64) {
            return Err(ModelError::BadShape {
                name: t.name.clone(),
                expected: vec![(c.rope_dims / 2) as u64],
                got: t.dims.clone(),
            });
        }
        // The values are read when the weights load (they live in the tensor data).
        c.rope_scaling = RopeScaling::FreqFactors(Vec::new());
    }
    Ok(c)
}

/// Nothing beyond the shared fields: HF's `rope_scaling` (`llama3`, `linear`) is read by `hf.rs`
/// for any family that sets it.
pub fn from_hf(_c: &mut DecoderConfig, _x: &HfExtra) {}
