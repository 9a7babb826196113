//! Repetition, presence and frequency penalties applied to logits on the GPU.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuError, GpuTensor};

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

/// Penalises, in place, each id of `recent` (distinct ids with their counts) in `logits`.
pub fn penalize(
    batch: &mut Batch<'_>,
    logits: &GpuTensor,
    recent: &[(u32, u32)],
    repeat: f32,
    presence: f32,
    frequency: f32,
) -> Result<(), GpuError> {
    if recent.is_empty() {
        return Ok(());
    }
    if let Some(&(bad, _)) = recent.iter().find(|(id, _)| *id as usize >= logits.numel()) {
        return Err(GpuError::InvalidArgument(format!(
            "penalty for token {bad} outside {} logits",
            logits.numel()
        )));
    }
    let ctx = batch.ctx();
    let ids: Vec<u32> = recent.iter().map(|r| r.0).collect();
    let counts: Vec<u32> = recent.iter().map(|r| r.1).collect();
    let (idt, ct) = (
        ctx.upload_u32(&ids, &[ids.len()])?,
        ctx.upload_u32(&counts, &[counts.len()])?,
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
        &[logits.binding(), idt.binding(), ct.binding()],
        params.n_ids,
    )
}
