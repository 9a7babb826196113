//! RMSNorm (plain and Gemma's `1 + w`), LayerNorm with bias, and MobileBERT's NoNorm.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};
use crate::ops::NormKind;

use super::{dim_u32, expect_len, run_rows, shaders, RowLoops};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    rows: u32,
    dim: u32,
    eps: f32,
    mode: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; rows, dim, eps, mode)
}

/// Normalises each `w.len()`-long row of x. `bias` is required for LayerNorm only.
pub fn norm(
    batch: &mut Batch<'_>,
    kind: NormKind,
    x: &GpuTensor,
    w: &GpuTensor,
    bias: Option<&GpuTensor>,
    eps: f32,
) -> Result<GpuTensor, GpuError> {
    let dim = w.numel();
    if dim == 0 || !x.numel().is_multiple_of(dim) {
        return Err(GpuError::InvalidArgument(format!(
            "norm: x {:?} is not rows of {dim}",
            x.shape
        )));
    }
    let bias = match (kind, bias) {
        (NormKind::Layer | NormKind::NoNorm, Some(b)) => {
            expect_len("norm bias", b, dim)?;
            b
        }
        (NormKind::Layer | NormKind::NoNorm, None) => {
            return Err(GpuError::InvalidArgument(format!("{kind:?} needs a bias")))
        }
        // RMSNorm ignores the binding; w stands in so the bind group stays the same shape.
        (_, _) => w,
    };
    let rows = x.numel() / dim;
    let y = batch.ctx().tensor(&x.shape, DType::F32)?;
    let mode = match kind {
        NormKind::Rms => 0,
        NormKind::RmsPlusOne => 1,
        NormKind::Layer => 2,
        NormKind::NoNorm => 3,
    };
    let params = Params {
        rows: dim_u32("rows", rows)?,
        dim: dim_u32("dim", dim)?,
        eps,
        mode,
    };
    let buffers = [x.binding(), w.binding(), bias.binding(), y.binding()];
    run_rows(
        batch,
        "norm",
        shaders::NORM,
        bytemuck::bytes_of(&params),
        &buffers,
        // norm.wgsl has four strided loops (NoNorm's, LayerNorm's mean, the variance, the
        // output) and two reductions; a call runs at most three loops, but a loop in a branch
        // it skips may still cost a trip on lavapipe, so all four count.
        (
            params.rows,
            RowLoops {
                dim,
                passes: 4,
                reductions: 2,
            },
        ),
    )?;
    // The norm's own weights (its bias too, for LayerNorm and NoNorm) are model weights.
    let own = if matches!(kind, NormKind::Layer | NormKind::NoNorm) {
        w.bytes() + bias.bytes()
    } else {
        w.bytes()
    };
    batch.ctx().stats.read_weights(own);
    Ok(y)
}
