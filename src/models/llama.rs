//! Llama family: Llama 2/3.x, TinyLlama, SmolLM2 (arch `llama` in GGUF).
//! Touvron et al., "LLaMA" (2023): pre-RMSNorm, SwiGLU FFN, RoPE, GQA.
//! llama.cpp's converter permutes q/k so that RoPE rotates adjacent pairs (ROPE_TYPE_NORM).

use crate::formats::gguf::GgufFile;

use super::config::{common, DecoderConfig, RopeScaling};
use super::ModelError;

pub fn config(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, "llama")?;
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
