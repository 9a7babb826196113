//! Encoder data movement: sequence pooling (mean over the mask, or `[CLS]`) and MobileBERT's
//! trigram embedding input. Twins in `crate::cpu::pool`.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};
use crate::ops::Pooling;

use super::{dim_u32, expect_len, loop_budget, product, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    batch: u32,
    seq: u32,
    dim: u32,
    mode: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; batch, seq, dim, mode)
}

fn check_mask(x: &GpuTensor, mask: &GpuTensor, batch: usize, seq: usize, dim: usize) -> Result<(), GpuError> {
    if mask.dtype != DType::U32 {
        return Err(GpuError::InvalidArgument("the attention mask must be u32".into()));
    }
    expect_len("x", x, product("x", &[batch, seq, dim])?)?;
    expect_len("mask", mask, product("mask", &[batch, seq])?)
}

/// `[batch, seq, dim]` -> `[batch, dim]` by `mode`.
pub fn pool(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    mask: &GpuTensor,
    (n_seq, seq, dim): (usize, usize, usize),
    mode: Pooling,
) -> Result<GpuTensor, GpuError> {
    check_mask(x, mask, n_seq, seq, dim)?;
    // pool.wgsl's mean runs one loop over the positions.
    let loops = loop_budget::Loops::simple(seq as u64).run;
    loop_budget::check(
        "pool",
        || format!("{seq} positions"),
        loops,
        batch.ctx().caps.loop_budget,
    )?;
    let y = batch.ctx().tensor(&[n_seq, dim], DType::F32)?;
    let params = Params {
        batch: dim_u32("batch", n_seq)?,
        seq: dim_u32("seq", seq)?,
        dim: dim_u32("dim", dim)?,
        mode: match mode {
            Pooling::Mean => 0,
            Pooling::First => 1,
        },
    };
    let invocations = dim_u32("pool invocations", n_seq * dim)?;
    let buffers = [x.binding(), mask.binding(), y.binding()];
    run_plain(
        batch,
        "pool",
        shaders::POOL,
        bytemuck::bytes_of(&params),
        &buffers,
        invocations,
    )?;
    Ok(y)
}

/// `[batch, seq, dim]` -> `[batch, seq, 3 * dim]`: MobileBERT's `[e(t+1), e(t), e(t-1)]`.
pub fn trigram(
    batch: &mut Batch<'_>,
    e: &GpuTensor,
    mask: &GpuTensor,
    (n_seq, seq, dim): (usize, usize, usize),
) -> Result<GpuTensor, GpuError> {
    check_mask(e, mask, n_seq, seq, dim)?;
    let y = batch.ctx().tensor(&[n_seq, seq, 3 * dim], DType::F32)?;
    let params = Params {
        batch: dim_u32("batch", n_seq)?,
        seq: dim_u32("seq", seq)?,
        dim: dim_u32("dim", dim)?,
        mode: 0,
    };
    let invocations = dim_u32("trigram invocations", product("trigram", &[n_seq, seq, 3 * dim])?)?;
    let buffers = [e.binding(), mask.binding(), y.binding()];
    run_plain(
        batch,
        "trigram",
        shaders::TRIGRAM,
        bytemuck::bytes_of(&params),
        &buffers,
        invocations,
    )?;
    Ok(y)
}
