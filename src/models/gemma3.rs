//! Gemma 3 (arch `gemma3`; `model_type` `gemma3` or `gemma3_text`). Gemma Team, "Gemma 3
//! Technical Report" (2025).
//!
//! What Gemma 3 does differently from Llama: embeddings scaled by sqrt(n_embd); RMSNorm on each
//! head of q and k; extra RMSNorms after attention and after the FFN (before each residual add);
//! GeGLU with the tanh GELU; 5 sliding-window (local) layers per global one, local layers with
//! RoPE base 1e4 and no rope scaling; NEOX RoPE; tied output embedding. The first four it shares
//! with Gemma 1/2 (`gemma.rs`, and Gemma 2's tensor names); it has no soft-caps.

use crate::formats::gguf::GgufFile;

use super::config::DecoderConfig;
use super::hf::HfExtra;
use super::{gemma, gemma2, Family, ModelError};

/// Every 6th layer is global (HF `sliding_window_pattern = 6`; llama.cpp `n_swa_pattern`).
pub const GLOBAL_EVERY: usize = 6;
/// RoPE base of the local layers (HF `rope_local_base_freq`).
pub const LOCAL_ROPE_BASE: f32 = 10_000.0;

/// The Gemma 3 knobs on top of Gemma's: q/k norms, post-norms, and one global layer in every
/// `global_every`.
fn apply(c: &mut DecoderConfig, sliding_window: usize, global_every: usize, local_rope_base: f32) {
    c.qk_norm = true;
    let every = global_every.max(1);
    gemma::windowed(c, sliding_window, |l| (l + 1) % every != 0);
    c.rope_base_local = Some(local_rope_base);
}

pub fn from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    // HF scales q.k by query_pre_attn_scalar^-0.5: head_dim for every size but 27B (62 layers).
    let (mut c, window) = gemma::from_gguf_windowed(gguf, Family::Gemma3, 62)?;
    apply(&mut c, window, GLOBAL_EVERY, LOCAL_ROPE_BASE);
    Ok(c)
}

/// HF Gemma 3 names its window pattern and local rope base (transformers 5 moves the base into
/// `rope_parameters.sliding_attention`, which `hf.rs` resolves into `x.local_rope_theta`).
pub fn from_hf(c: &mut DecoderConfig, x: &HfExtra) {
    let window = gemma::from_hf_windowed(c, x);
    apply(
        c,
        window,
        x.sliding_window_pattern.unwrap_or(GLOBAL_EVERY),
        x.local_rope_theta.map_or(LOCAL_ROPE_BASE, |t| t as f32),
    );
}

/// Gemma 2's four norms, and the per-head q/k norms.
pub fn hf_name(stem: &str) -> Option<&'static str> {
    Some(match stem {
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        other => return gemma2::hf_name(other),
    })
}
