//! Gemma 3 (arch `gemma3`). Gemma Team, "Gemma 3 Technical Report" (2025).
//! Differences from Llama: embeddings scaled by sqrt(n_embd); RMSNorm on each head of q and k;
//! extra RMSNorms after attention and after the FFN (before each residual add); GeGLU with the
//! tanh GELU; 5 sliding-window (local) layers per global one, local layers with RoPE base 1e4;
//! NEOX RoPE; tied output embedding.

use crate::formats::gguf::GgufFile;

use super::config::{arch_md_opt, common, DecoderConfig};
use super::{gemma, ModelError};

/// Every 6th layer is global (HF `sliding_window_pattern = 6`; llama.cpp `n_swa_pattern`).
pub const GLOBAL_EVERY: usize = 6;
/// RoPE base of the local layers (HF `rope_local_base_freq`).
pub const LOCAL_ROPE_BASE: f32 = 10_000.0;

/// The Gemma 3 knobs on top of the shared hyper-parameters (GGUF or HF): Gemma's, then q/k
/// norms, post-norms, and one global layer in every `global_every`.
pub fn apply(c: &mut DecoderConfig, sliding_window: usize, global_every: usize, local_rope_base: f32) {
    gemma::apply_gemma(c);
    c.qk_norm = true;
    c.post_norms = true;
    c.sliding_window = sliding_window;
    let every = global_every.max(1);
    c.local_layers = (0..c.n_layer)
        .map(|l| sliding_window > 0 && (l + 1) % every != 0)
        .collect();
    c.rope_base_local = Some(local_rope_base);
}

pub fn config(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, "gemma3")?;
    let window = arch_md_opt(gguf, "gemma3", "attention.sliding_window")?.unwrap_or(0);
    apply(&mut c, window, GLOBAL_EVERY, LOCAL_ROPE_BASE);
    // HF scales q.k by query_pre_attn_scalar^-0.5: head_dim for every size but 27B (62 layers),
    // where it is n_embd / n_head (llama.cpp keys this on the layer count too).
    if c.n_layer == 62 {
        c.attn_scale = 1.0 / ((c.n_embd / c.n_head) as f32).sqrt();
    }
    Ok(c)
}
