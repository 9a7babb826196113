//! logit_bias and the repetition, presence and frequency penalties, applied to logits on the GPU.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuError, GpuTensor};
use crate::ops::PenaltyEntry;

use super::{dim_u32, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n_ids: u32,
    repeat: f32,
    presence: f32,
    frequency: f32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n_ids, repeat, presence, frequency)
}

/// Biases and penalises, in place, each id of `entries` (distinct ids) in `logits`.
pub fn penalize(
    batch: &mut Batch<'_>,
    logits: &GpuTensor,
    entries: &[PenaltyEntry],
    repeat: f32,
    presence: f32,
    frequency: f32,
) -> Result<(), GpuError> {
    if entries.is_empty() {
        return Ok(());
    }
    if let Some(bad) = entries.iter().map(|e| e.id).find(|&id| id as usize >= logits.numel()) {
        return Err(GpuError::InvalidArgument(format!(
            "penalty for token {bad} outside {} logits",
            logits.numel()
        )));
    }
    let ctx = batch.ctx();
    let ids: Vec<u32> = entries.iter().map(|e| e.id).collect();
    let counts: Vec<u32> = entries.iter().map(|e| e.count).collect();
    let bias: Vec<f32> = entries.iter().map(|e| e.bias).collect();
    let (idt, ct, bt) = (
        ctx.upload_u32(&ids, &[ids.len()])?,
        ctx.upload_u32(&counts, &[counts.len()])?,
        ctx.upload_f32(&bias, &[bias.len()])?,
    );
    let params = Params {
        n_ids: dim_u32("ids", ids.len())?,
        repeat,
        presence,
        frequency,
    };
    run_plain(
        batch,
        "penalty",
        shaders::PENALTY,
        bytemuck::bytes_of(&params),
        &[logits.binding(), idt.binding(), ct.binding(), bt.binding()],
        params.n_ids,
    )
}
