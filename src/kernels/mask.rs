//! Structured output's allowed-token mask applied to the logits on the GPU, before top-k, so
//! the logits never leave the device: a `vocab / 32`-word upload per token.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuError, GpuTensor};

use super::{dim_u32, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    n_words: u32,
    neg_inf: f32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n, n_words, neg_inf)
}

/// Sets, in place, every logit whose bit in `mask` is clear to -inf (bit `i % 32` of word
/// `i / 32`; ids past the mask are masked too).
pub fn mask_logits(batch: &mut Batch<'_>, logits: &GpuTensor, mask: &[u32]) -> Result<(), GpuError> {
    if mask.is_empty() {
        return Err(GpuError::InvalidArgument("an empty token mask".into()));
    }
    let n = logits.numel();
    let words = batch.ctx().upload_u32(mask, &[mask.len()])?;
    let params = Params {
        n: dim_u32("logits", n)?,
        n_words: dim_u32("mask words", mask.len())?,
        neg_inf: f32::NEG_INFINITY,
    };
    run_plain(
        batch,
        "mask_logits",
        shaders::MASK,
        bytemuck::bytes_of(&params),
        &[logits.binding(), words.binding()],
        params.n,
    )
}
