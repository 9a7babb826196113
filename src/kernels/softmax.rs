//! Row-wise softmax.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};

use super::{dim_u32, run_rows, shaders, RowLoops};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    rows: u32,
    dim: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; rows, dim)
}

/// Softmax over each `dim`-long row of x.
pub fn softmax(batch: &mut Batch<'_>, x: &GpuTensor, dim: usize) -> Result<GpuTensor, GpuError> {
    if dim == 0 || !x.numel().is_multiple_of(dim) {
        return Err(GpuError::InvalidArgument(format!(
            "softmax: x {:?} is not rows of {dim}",
            x.shape
        )));
    }
    let y = batch.ctx().tensor(&x.shape, DType::F32)?;
    let params = Params {
        rows: dim_u32("rows", x.numel() / dim)?,
        dim: dim_u32("dim", dim)?,
    };
    run_rows(
        batch,
        "softmax",
        shaders::SOFTMAX,
        bytemuck::bytes_of(&params),
        &[x.binding(), y.binding()],
        // softmax.wgsl: max, exp-and-sum and scale passes; a max and a sum reduction.
        (
            params.rows,
            RowLoops {
                dim,
                passes: 3,
                reductions: 2,
            },
        ),
    )?;
    Ok(y)
}
