//! Gemma 1 (arch `gemma`) and Gemma 2 (arch `gemma2`). Gemma Team, "Gemma: Open Models Based on
//! Gemini Research and Technology" (2024) and "Gemma 2: Improving Open Language Models at a
//! Practical Size" (2024).
//!
//! Gemma 1 is Llama with GeGLU (tanh GELU), embeddings scaled by sqrt(n_embd), `(1 + w)`
//! RMSNorm (GGUF files fold the 1 in) and NEOX RoPE; the 2B model uses MQA. Gemma 2 adds extra
//! norms after attention and after the FFN, soft-capping of attention scores and of the output
//! logits, and alternates sliding-window (even layers) and global layers.

use crate::cpu::elementwise::Activation;
use crate::formats::gguf::GgufFile;
use crate::kernels::rope::RopeLayout;

use super::config::{arch_md_opt, common, DecoderConfig};
use super::ModelError;

/// Gemma 1 knobs on top of the shared hyper-parameters.
pub fn apply_gemma(c: &mut DecoderConfig) {
    c.act = Activation::GeluTanh;
    c.rope_layout = RopeLayout::Neox;
    c.embed_scale = Some((c.n_embd as f32).sqrt());
}

/// Gemma 2 knobs: Gemma 1's, then post-norms and alternating windows (sliding on even layers,
/// HF `layer_types` / llama.cpp `set_swa_pattern(2)`).
pub fn apply_gemma2(c: &mut DecoderConfig, sliding_window: usize, attn_softcap: f32, final_softcap: f32) {
    apply_gemma(c);
    c.post_norms = true;
    c.sliding_window = sliding_window;
    c.local_layers = (0..c.n_layer).map(|l| sliding_window > 0 && l % 2 == 0).collect();
    c.attn_softcap = attn_softcap;
    c.final_softcap = final_softcap;
}

pub fn config_gemma(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let mut c = common(gguf, "gemma")?;
    apply_gemma(&mut c);
    Ok(c)
}

pub fn config_gemma2(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    let a = "gemma2";
    let mut c = common(gguf, a)?;
    let window = arch_md_opt(gguf, a, "attention.sliding_window")?.unwrap_or(0);
    let attn_cap = arch_md_opt(gguf, a, "attn_logit_softcapping")?.unwrap_or(0.0);
    let final_cap = arch_md_opt(gguf, a, "final_logit_softcapping")?.unwrap_or(0.0);
    apply_gemma2(&mut c, window, attn_cap, final_cap);
    // GGUF has no query_pre_attn_scalar: like llama.cpp, scale by head_dim^-0.5 except on the
    // 27B model (46 layers), whose scalar is n_embd / n_head.
    if c.n_layer == 46 {
        c.attn_scale = 1.0 / ((c.n_embd / c.n_head) as f32).sqrt();
    }
    Ok(c)
}
